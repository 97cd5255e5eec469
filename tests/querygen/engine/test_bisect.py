"""querygen/engine/bisect.py on real releases: DuckDB 0.9.2, 0.10.3, 1.0.0 and 1.1.3 in
virtualenvs of their own (the session's duckdb_release_engines), the installed DuckDB as the
reference, every one on an in-memory database the reproducer loads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from querygen.engine import worker
from querygen.engine.bisect import first_passing, fixed_in, scan
from querygen.engine.compare import Kind
from querygen.engine.engines import DuckDBEngine, Engine
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
def reference() -> Iterator[DuckDBEngine]:
    with DuckDBEngine(worker.MEMORY) as engine:
        yield engine


def expected(reference: Engine, statements: list[str], sql: str) -> Outcome:
    assert reference.load(statements).ok
    return reference.execute(sql)


def ladder(engines: dict, *releases: str) -> list[tuple[str, Engine]]:
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
