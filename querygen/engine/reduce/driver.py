"""The reduction loop: ``reduce`` runs the passes (queries.py, clauses.py, children.py,
literals.py, in that order) greedily to a fixpoint.

Within a pass, after a success the pass goes on from the same position in the new tree, and the
passes repeat until a whole round changes nothing or ``max_checks`` calls of ``still_fails`` have
been made.

Size: the number of nodes of the tree, ``len(list(tree.walk()))`` (every node counts:
identifiers, literals, data types). A candidate is kept only when it is strictly smaller by
(size, length of its SQL text); the text length lets same-size simplifications through (an outer
join made inner, a long literal made short) and the order guarantees the reduction ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlglot import exp

from querygen.engine.reduce.candidates import _drop_unused_ctes, _plausible
from querygen.engine.reduce.children import _pass_children
from querygen.engine.reduce.clauses import _pass_clauses
from querygen.engine.reduce.edits import _Build
from querygen.engine.reduce.literals import _pass_literals
from querygen.engine.reduce.queries import _pass_queries

StillFails = Callable[[exp.Expression], bool]


@dataclass(frozen=True)
class Reduction:
    """The reduced tree, the sizes before and after (nodes, see ``tree_size``), and how many
    times ``still_fails`` was called."""

    tree: exp.Expression
    original_size: int
    reduced_size: int
    checks: int

    @property
    def ratio(self) -> float:
        return self.reduced_size / self.original_size if self.original_size else 1.0


def tree_size(tree: exp.Expression) -> int:
    """The size reductions are measured in: the number of nodes, ``len(list(tree.walk()))``."""
    return sum(1 for _ in tree.walk())


def reduce(tree: exp.Expression, still_fails: StillFails, *, max_checks: int = 500) -> Reduction:
    """Reduce ``tree`` while ``still_fails(candidate)`` holds; see the module docstring.

    ``still_fails`` gets a copy of each candidate (it may keep or change it) and is called at
    most ``max_checks`` times. The tree given is assumed to fail; it is not checked again.
    """
    if max_checks < 0:
        raise ValueError(f"max_checks must be >= 0, not {max_checks!r}")
    reducer = _Reducer(tree.copy(), still_fails, max_checks)
    reducer.run()
    return Reduction(
        tree=reducer.tree,
        original_size=tree_size(tree),
        reduced_size=tree_size(reducer.tree),
        checks=reducer.checks,
    )


class _Reducer:
    def __init__(self, tree: exp.Expression, still_fails: StillFails, max_checks: int) -> None:
        self.tree = tree
        self.still_fails = still_fails
        self.max_checks = max_checks
        self.checks = 0
        sql = tree.sql()
        self.measure = (tree_size(tree), len(sql))
        self.seen = {sql}

    @property
    def exhausted(self) -> bool:
        return self.checks >= self.max_checks

    def run(self) -> None:
        progress = True
        while progress and not self.exhausted:
            progress = False
            for make in _PASSES:
                progress = self._pass(make) or progress
                if self.exhausted:
                    return

    def _pass(self, make: Callable[[exp.Expression], Iterator[_Build]]) -> bool:
        start, progressed = 0, False
        while not self.exhausted:
            accepted = None
            for position, build in enumerate(make(self.tree)):
                if position < start:
                    continue
                if self._try(build):
                    accepted = position
                    break
                if self.exhausted:
                    break
            if accepted is None:
                break
            # Candidates before this position failed on a bigger tree; the next round retries.
            progressed, start = True, accepted
        return progressed

    def _try(self, build: _Build) -> bool:
        candidate = build()
        if candidate is None:
            return False
        _drop_unused_ctes(candidate)
        sql = candidate.sql()
        if sql in self.seen:
            return False
        self.seen.add(sql)
        measure = (tree_size(candidate), len(sql))
        if measure >= self.measure or not _plausible(candidate):
            return False
        self.checks += 1
        if not self.still_fails(candidate.copy()):
            return False
        self.tree, self.measure = candidate, measure
        return True


_PASSES: tuple[Callable[[exp.Expression], Iterator[_Build]], ...] = (
    _pass_queries,
    _pass_clauses,
    _pass_children,
    _pass_literals,
)
