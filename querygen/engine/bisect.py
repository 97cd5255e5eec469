"""Bisecting a finding over a ladder of releases: the first release of an engine where the
reproducer stops failing, i.e. answers what the reference answered.

A finding of an old release (the system under test) against a newer one (the reference) is a
database (CREATE and INSERT statements, database.py) and a query. ``scan`` loads the database
into each release's engine (``EngineClient.load``: engines opened on ``worker.MEMORY``,
typically one ``IsolatedClient`` per release from releases.py, kept open by the caller for many
findings) and runs the query; a release *passes* when its outcome equals ``expected``, the
reference's, by querygen's own comparison (``querygen.engine.compare``: multisets, or ordered
rows, floats within a tolerance): the same rows, or an error where the reference refused too.
Anything else fails: other rows, an error where the reference answered or an answer where it
refused, a crash, a timeout, a database the release cannot load.

``first_passing`` scans every release (a linear scan, not a binary search: with in-memory
databases each step costs milliseconds, and histories are not monotonic, a bug fixed in one
release may come back in the next) and answers the first release from which on every release
of the ladder passes: where the fix that stuck was made. None when the last release fails.

A finding where the reference itself crashed is not the old release's bug but the newer
one's (an old release refusing a join a new one crashes on): there is no answer to pass
against, every release "fails" and nothing is ever fixed. Its reproducer reproduces when the
reference's release crashes again as it did (``Step.crashed_as``: a crash, the same normalized
error), and ``introduced_in`` is the release from which on every release crashes so: where
the bug came in. ``reproduces`` says, of an old and a new release, whether a reproducer does
what its finding claims, either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from querygen.engine.compare import Comparison, Kind, compare
from querygen.engine.engines import EngineClient
from querygen.engine.model import Outcome, SqlType, Status
from querygen.engine.signature import normalize_error

__all__ = [
    "Step",
    "first_passing",
    "fixed_in",
    "introduced_in",
    "reference_crashed",
    "reproduces",
    "scan",
]

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

    def crashed_as(self, expected: Outcome) -> bool:
        """Whether the release crashed on the query as ``expected`` did, with the same error
        (normalized: addresses and numbers of an internal error vary from run to run)."""
        return (
            self.comparison is not None
            and self.outcome.status is Status.CRASH
            and expected.status is Status.CRASH
            and normalize_error(self.outcome.error) == normalize_error(expected.error)
        )


def reference_crashed(expected: Outcome) -> bool:
    """Whether the reference crashed on the reproducer: then the finding is a bug of the
    reference's release, not one the old release had and a later one fixed."""
    return expected.status is Status.CRASH


def scan(
    ladder: Sequence[tuple[str, EngineClient]],
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


def introduced_in(steps: Sequence[Step], expected: Outcome) -> str | None:
    """For a reproducer the reference crashed on: the first release from which on every
    release crashes as the reference did; None when the last one did not."""
    release = None
    for step in reversed(steps):
        if not step.crashed_as(expected):
            break
        release = step.release
    return release


def reproduces(old: Step, new: Step, expected: Outcome) -> tuple[bool, str]:
    """Whether a reproducer, run again on an old release (the SUT's) and a new one (the
    reference's), does what its finding claims, and what it did: a bug of the old release
    fails there and passes on the new one; a crash of the reference's own release crashes the
    new one again the same way (whatever the old one does: it refused, answered, or crashed
    too). A reference that gave no answer (a timeout, the row limit: never a finding's own
    kind, but beside a crash of the SUT) leaves nothing to pass against: never reproduced."""

    def said(step: Step) -> str:
        if step.comparison is None:
            return f"{step.release} could not load the database: {_first_line(step.outcome)}"
        if step.outcome.ok:
            return f"{step.release} answered {len(step.outcome.rows)} rows"
        return f"{step.release} {step.outcome.status.value}: {_first_line(step.outcome)}"

    if reference_crashed(expected):
        if new.crashed_as(expected):
            also = "crashes the same way too" if old.crashed_as(expected) else "does not crash"
            return True, f"a bug of {new.release}: it crashes again; {old.release} {also}"
        return False, f"the reference crashed, but now {said(new)}"
    if expected.status is not Status.OK and expected.status is not Status.ERROR:
        return False, f"the reference gave no answer ({expected.status.value}): {said(new)}"
    if not old.passed and new.passed:
        return True, f"fails on {old.release}, passes on {new.release}"
    why = []
    if old.passed:
        why.append(f"{old.release} passes ({old.comparison.detail if old.comparison else ''})")
    if not new.passed:
        detail = new.comparison.detail if new.comparison else said(new)
        why.append(f"{new.release} fails ({detail})")
    return False, "; ".join(why)


def _first_line(outcome: Outcome) -> str:
    return next((line.strip() for line in outcome.error.splitlines() if line.strip()), "")


def first_passing(
    ladder: Sequence[tuple[str, EngineClient]],
    statements: Statements,
    sql: str,
    expected: Outcome,
    **options: Any,
) -> str | None:
    """The release where the reproducer stops failing for good (see the module docstring):
    ``fixed_in(scan(...))``; ``options`` (timeout, max_rows, ordered, order_keys, types) as
    for ``scan``."""
    return fixed_in(scan(ladder, statements, sql, expected, **options))
