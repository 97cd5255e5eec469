"""Bisecting a finding over a ladder of releases: the first release of an engine where the
reproducer stops failing, i.e. answers what the reference answered.

A finding of an old release (the system under test) against a newer one (the reference) is a
database (CREATE and INSERT statements, database.py) and a query. ``scan`` loads the database
into each release's engine (``Engine.load``: engines opened on ``worker.MEMORY``, typically one
``IsolatedEngine`` per release from releases.py, kept open by the caller for many findings) and
runs the query; a release *passes* when its outcome equals ``expected``, the reference's, by
querygen's own comparison (``querygen.engine.compare``: multisets, or ordered rows, floats
within a tolerance): the same rows, or an error where the reference refused too. Anything else
fails: other rows, an error where the reference answered or an answer where it refused, a
crash, a timeout, a database the release cannot load.

``first_passing`` scans every release (a linear scan, not a binary search: with in-memory
databases each step costs milliseconds, and histories are not monotonic, a bug fixed in one
release may come back in the next) and answers the first release from which on every release
of the ladder passes: where the fix that stuck was made. None when the last release fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from querygen.engine.compare import Comparison, Kind, compare
from querygen.engine.engines import Engine
from querygen.engine.model import Outcome, SqlType

__all__ = ["Step", "first_passing", "fixed_in", "scan"]

# The kinds of comparison that count as the release answering what the reference answered.
_PASSING = frozenset({Kind.MATCH, Kind.BOTH_ERROR})

Statements = Sequence[str] | Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class Step:
    """One release's answer to the reproducer and its verdict against the expected one;
    ``comparison`` None: the release could not load the database (``outcome`` says why)."""

    release: str
    outcome: Outcome
    comparison: Comparison | None

    @property
    def passed(self) -> bool:
        return self.comparison is not None and self.comparison.kind in _PASSING


def scan(
    ladder: Sequence[tuple[str, Engine]],
    statements: Statements,
    sql: str,
    expected: Outcome,
    *,
    timeout: float = 10.0,
    max_rows: int = 10_000,
    ordered: bool = False,
    order_keys: Sequence[int] | None = None,
    types: Sequence[SqlType | None] | None = None,
) -> list[Step]:
    """Every release's step, in ladder order. ``statements`` is the reproducer's database, or a
    function of the release giving it (an old release may need other DDL); ``ordered``,
    ``order_keys`` and ``types`` are passed to ``compare`` as for the finding itself."""
    steps = []
    for release, engine in ladder:
        database = list(statements(release) if callable(statements) else statements)
        loaded = engine.load(database, timeout=timeout)
        if not loaded.ok:  # the reproducer never ran: a failure, whatever the reference said
            steps.append(Step(release, loaded, None))
            continue
        outcome = engine.execute(sql, timeout=timeout, max_rows=max_rows)
        comparison = compare(outcome, expected, types=types, ordered=ordered, order_keys=order_keys)
        steps.append(Step(release, outcome, comparison))
    return steps


def fixed_in(steps: Sequence[Step]) -> str | None:
    """The first release from which on every step passed; None when the last one failed."""
    release = None
    for step in reversed(steps):
        if not step.passed:
            break
        release = step.release
    return release


def first_passing(
    ladder: Sequence[tuple[str, Engine]],
    statements: Statements,
    sql: str,
    expected: Outcome,
    **options: Any,
) -> str | None:
    """The release where the reproducer stops failing for good (see the module docstring):
    ``fixed_in(scan(...))``; ``options`` (timeout, max_rows, ordered, order_keys, types) as
    for ``scan``."""
    return fixed_in(scan(ladder, statements, sql, expected, **options))
