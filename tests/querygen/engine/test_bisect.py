"""querygen/engine/bisect.py on real releases: DuckDB 0.9.2, 0.10.3, 1.0.0 and 1.1.3 in
virtualenvs of their own (the session's duckdb_release_engines), the installed DuckDB as the
reference, every one on an in-memory database the reproducer loads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from querygen.engine import worker
from querygen.engine.bisect import (
    first_passing,
    fixed_in,
    introduced_in,
    reference_crashed,
    reproduces,
    scan,
)
from querygen.engine.compare import Kind
from querygen.engine.engines import DuckDBClient, EngineClient
from querygen.engine.model import Outcome, Status

# DuckDB 0.9.2 answers NULL for NOT EXISTS of a correlated subquery when the outer value is
# NULL (EXISTS is never NULL): a wrong result, fixed in 0.10. Found by benchmarks/naive_sqlgen.py
# (a row missing from `... WHERE NOT EXISTS (...) OR ...`) and reduced by hand.
NOT_EXISTS_DB = [
    "CREATE TABLE t (a INTEGER, b INTEGER)",
    "INSERT INTO t VALUES (1, 1), (2, 2), (3, NULL)",
]
NOT_EXISTS_SQL = "SELECT a, NOT EXISTS (SELECT 1 FROM t t2 WHERE t2.b > t.b) AS top FROM t"

# Dividing by zero answered NULL up to 1.0 and follows IEEE 754 for floats since 1.1
# (x / 0 is inf, -inf or NaN): a documented change.
DIVISION_DB = [
    "CREATE TABLE t (a INTEGER, b INTEGER)",
    "INSERT INTO t VALUES (1, 0), (-1, 0), (4, 2)",
]
DIVISION_SQL = "SELECT a, a / b AS q FROM t"


@pytest.fixture(scope="module")
def reference() -> Iterator[DuckDBClient]:
    with DuckDBClient(worker.MEMORY) as engine:
        yield engine


def expected(reference: EngineClient, statements: list[str], sql: str) -> Outcome:
    assert reference.load(statements).ok
    return reference.execute(sql)


def ladder(engines: dict, *releases: str) -> list[tuple[str, EngineClient]]:
    return [(release, engines[release]) for release in releases]


def test_a_wrong_result_of_0_9_2_stops_failing_in_0_10_3(duckdb_release_engines, reference):
    want = expected(reference, NOT_EXISTS_DB, NOT_EXISTS_SQL)
    assert sorted(want.rows) == [(1, False), (2, True), (3, True)]
    releases = ladder(duckdb_release_engines, "0.9.2", "0.10.3", "1.0.0")

    steps = scan(releases, NOT_EXISTS_DB, NOT_EXISTS_SQL, want)

    assert [(s.release, s.passed) for s in steps] == [
        ("0.9.2", False),
        ("0.10.3", True),
        ("1.0.0", True),
    ]
    assert steps[0].comparison is not None and steps[0].comparison.kind is Kind.CONTENT
    assert sorted(steps[0].outcome.rows) == [(1, False), (2, True), (3, None)]
    assert first_passing(releases, NOT_EXISTS_DB, NOT_EXISTS_SQL, want) == "0.10.3"


def test_a_change_after_the_ladder_passes_nowhere_until_its_release_joins(
    duckdb_release_engines, reference
):
    want = expected(reference, DIVISION_DB, DIVISION_SQL)
    assert sorted(want.rows, key=repr) == sorted(
        [(1, float("inf")), (-1, float("-inf")), (4, 2.0)], key=repr
    )
    old = ladder(duckdb_release_engines, "0.9.2", "0.10.3", "1.0.0")
    assert first_passing(old, DIVISION_DB, DIVISION_SQL, want) is None
    assert (
        first_passing(
            [*old, *ladder(duckdb_release_engines, "1.1.3")], DIVISION_DB, DIVISION_SQL, want
        )
        == "1.1.3"
    )


def test_refusing_what_the_reference_refuses_passes(duckdb_release_engines, reference):
    """Since 0.10 DuckDB casts no number to text implicitly: length(123) is refused, as the
    reference does; 0.9.2 answered 3."""
    sql = "SELECT length(a) FROM t"
    database = ["CREATE TABLE t (a INTEGER)", "INSERT INTO t VALUES (123)"]
    want = expected(reference, database, sql)
    assert want.status is Status.ERROR
    releases = ladder(duckdb_release_engines, "0.9.2", "0.10.3", "1.0.0")

    steps = scan(releases, database, sql, want)

    assert steps[0].outcome.rows == [(3,)] and not steps[0].passed
    assert [s.comparison.kind for s in steps[1:] if s.comparison] == [Kind.BOTH_ERROR] * 2
    assert fixed_in(steps) == "0.10.3"


def test_a_release_that_cannot_load_the_database_fails(duckdb_release_engines, reference):
    """0.9.2 reads no '1_000' as an integer; the statements may differ per release."""
    database = ["CREATE TABLE t AS SELECT CAST('1_000' AS INTEGER) AS a"]
    sql = "SELECT a FROM t"
    want = expected(reference, database, sql)
    asked: list[str] = []

    def statements_for(release: str) -> list[str]:
        asked.append(release)
        return database

    releases = ladder(duckdb_release_engines, "0.9.2", "0.10.3")
    steps = scan(releases, statements_for, sql, want)

    assert asked == ["0.9.2", "0.10.3"]
    assert steps[0].comparison is None and not steps[0].passed
    assert "statement 1 of 1" in steps[0].outcome.error
    assert steps[1].passed
    assert fixed_in(steps) == "0.10.3"


def test_the_release_named_is_the_one_after_which_every_release_passes(
    duckdb_release_engines, reference
):
    """A history that is not monotonic (here: releases labelled out of their order, so that
    a passing one comes before a failing one) names the fix that stuck, not the first pass."""
    want = expected(reference, NOT_EXISTS_DB, NOT_EXISTS_SQL)
    engines = duckdb_release_engines
    history = [("a", engines["0.10.3"]), ("b", engines["0.9.2"]), ("c", engines["1.0.0"])]

    steps = scan(history, NOT_EXISTS_DB, NOT_EXISTS_SQL, want)

    assert [s.passed for s in steps] == [True, False, True]
    assert first_passing(history, NOT_EXISTS_DB, NOT_EXISTS_SQL, want) == "c"
    assert fixed_in([]) is None


def test_an_ordered_finding_is_compared_in_order(duckdb_release_engines, reference):
    """The same rows in another order pass as a multiset and fail when ordered."""
    sql = "SELECT a FROM t ORDER BY a"
    database = ["CREATE TABLE t (a INTEGER)", "INSERT INTO t VALUES (2), (1)"]
    want = expected(reference, database, sql)
    backwards = Outcome(Status.OK, want.columns, list(reversed(want.rows)))
    releases = ladder(duckdb_release_engines, "1.0.0")
    assert first_passing(releases, database, sql, backwards) == "1.0.0"
    assert first_passing(releases, database, sql, backwards, ordered=True) is None


# --- a crash of the reference: the new release's bug, reproduced as such ---------------------

# DuckDB 2.0 joins on a subquery in an outer join's ON, which every release before refused
# ("Cannot perform non-inner join on subquery!"), and crashes on this one. Found by
# benchmarks/querygen_versions.py (0.9.2 against 2.0.1): its check counted such groups as
# reproducers that do not reproduce, since nothing can pass where the reference crashed.
OUTER_JOIN_DB = ["CREATE TABLE t2 (c1 INTEGER)", "CREATE TABLE t3 (c1 INTEGER, c3 VARCHAR)"]
OUTER_JOIN_SQL = (
    "SELECT DISTINCT t1.c3 FROM t3 AS t1 LEFT JOIN t2 ON t1.c1 = t2.c1 "
    "AND 0 IN (SELECT 0 FROM t3) WHERE NOT FALSE"
)


def test_a_crash_of_the_reference_reproduces_as_its_releases_bug(duckdb_release_engines):
    # The reference is release 2.0.1 itself, not the installed DuckDB, which may have fixed it.
    reference = duckdb_release_engines["2.0.1"]
    want = expected(reference, OUTER_JOIN_DB, OUTER_JOIN_SQL)
    assert want.status is Status.CRASH
    assert "Projection map references a missing child column" in want.error
    releases = [*ladder(duckdb_release_engines, "0.9.2", "1.1.3"), ("new", reference)]

    steps = scan(releases, OUTER_JOIN_DB, OUTER_JOIN_SQL, want)

    assert [s.outcome.status for s in steps] == [Status.ERROR, Status.ERROR, Status.CRASH]
    assert not any(s.passed for s in steps) and fixed_in(steps) is None
    assert reference_crashed(want)
    assert [s.crashed_as(want) for s in steps] == [False, False, True]
    assert introduced_in(steps, want) == "new"
    ok, why = reproduces(steps[0], steps[-1], want)
    assert ok, why
    assert why == "a bug of new: it crashes again; 0.9.2 does not crash"


class _Answers(EngineClient):
    """Test double: an engine that loads anything and answers every query with ``outcome``."""

    dialect = "duckdb"

    def __init__(self, name: str, outcome: Outcome) -> None:
        self.name, self.outcome = name, outcome

    def load(self, statements, *, timeout=10.0, drop=None) -> Outcome:
        return Outcome(Status.OK)

    def execute(self, sql: str, *, timeout: float = 10.0, max_rows: int = 10_000) -> Outcome:
        return self.outcome

    def version(self) -> str:
        return self.name

    def catalog(self) -> list:
        return []

    def close(self) -> None:
        pass


CRASH = Outcome(Status.CRASH, error="INTERNAL Error: Attempted to access index 2 of 0x7f01")
OTHER_CRASH = Outcome(Status.CRASH, error="INTERNAL Error: Projection map references a column")
REFUSED = Outcome(Status.ERROR, error="Not implemented Error: Cannot perform non-inner join")
ROWS = Outcome(Status.OK, ["a"], [(1,)])
OTHER_ROWS = Outcome(Status.OK, ["a"], [(2,)])


def two(old: Outcome, new: Outcome, want: Outcome) -> tuple[bool, str]:
    steps = scan([("old", _Answers("old", old)), ("new", _Answers("new", new))], [], "q", want)
    return reproduces(steps[0], steps[1], want)


@pytest.mark.parametrize(
    ("old", "new", "want", "ok", "why"),
    [
        (OTHER_ROWS, ROWS, ROWS, True, "fails on old, passes on new"),
        (CRASH, ROWS, ROWS, True, "fails on old, passes on new"),
        (REFUSED, REFUSED, REFUSED, False, "old passes (both refused: Not implemented"),
        (OTHER_ROWS, OTHER_ROWS, ROWS, False, "new fails (1 of 1 row differ"),
        # The reference crashed: the new release's bug, whatever the old one did.
        (REFUSED, CRASH, CRASH, True, "a bug of new: it crashes again; old does not crash"),
        (CRASH, CRASH, CRASH, True, "a bug of new: it crashes again; old crashes the same way too"),
        # Addresses differ from run to run; another internal error is another bug.
        (REFUSED, Outcome(Status.CRASH, error=CRASH.error.replace("0x7f01", "0x55aa")), CRASH,
         True, "a bug of new"),
        (REFUSED, OTHER_CRASH, CRASH, False, "the reference crashed, but now new crash: INTE"),
        (REFUSED, ROWS, CRASH, False, "the reference crashed, but now new answered 1 rows"),
        # A reference that gave no answer leaves nothing to pass against, and says so.
        (CRASH, Outcome(Status.TIMEOUT, error="timed out"), Outcome(Status.TIMEOUT), False,
         "the reference gave no answer (timeout)"),
    ],
)  # fmt: skip
def test_a_reproducer_reproduces_what_its_finding_claims(old, new, want, ok, why) -> None:
    got, said = two(old, new, want)
    assert got is ok, said
    assert said.startswith(why), said


def test_a_crash_came_in_where_every_release_after_crashes_so() -> None:
    history = [("a", CRASH), ("b", REFUSED), ("c", CRASH), ("d", CRASH)]
    steps = scan([(r, _Answers(r, o)) for r, o in history], [], "q", CRASH)
    assert introduced_in(steps, CRASH) == "c"
    assert introduced_in(steps[:2], CRASH) is None
    assert fixed_in(steps) is None
