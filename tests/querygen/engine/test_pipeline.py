"""pipeline.py: a finding is reduced against the oracle that found it, then signed on the
reduced query, so repeated findings of one difference share one signature."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot

from querygen.engine.compare import Kind
from querygen.engine.engines import DuckDBClient, SQLiteClient
from querygen.engine.generator import Query, QueryGenerator
from querygen.engine.model import Outcome, Schema, Status
from querygen.engine.oracles import Check, Differential
from querygen.engine.pipeline import (
    canonical,
    check_tree,
    column_types,
    difference_key,
    reduce_finding,
    reproduce_key,
)
from querygen.engine.runner import make_finding, run
from querygen.engine.schema import common_schema
from querygen.engine.signature import KnownIssue
from tests.querygen.conftest import QUERYGEN_TABLES, table


@pytest.fixture(scope="module")
def nan_engines(nan_files):
    with DuckDBClient(nan_files[0]) as duck, SQLiteClient(nan_files[1]) as lite:
        yield duck, lite


def test_column_types_follow_aliases_to_the_schema() -> None:
    schema = Schema(tuple(QUERYGEN_TABLES))
    tree = sqlglot.parse_one(
        "SELECT t1.amount, t2.word FROM numbers AS t1 JOIN strings AS t2 ON t1.id = t2.id"
    )
    assert column_types(tree, schema) == "DECIMAL,INT,TEXT"
    cte = sqlglot.parse_one("WITH w AS (SELECT f64 AS c FROM numbers) SELECT t.c FROM w AS t")
    assert column_types(cte, schema) == "?"


def test_a_written_finding_reduces_to_the_nan_column_and_signs_with_its_type(nan_engines) -> None:
    duck, lite = nan_engines
    oracle = Differential(duck, lite, timeout=5)
    tree = sqlglot.parse_one(
        "SELECT t1.v AS c0, t2.name AS c1, t1.k + 1 AS c2 FROM measures AS t1 "
        "INNER JOIN labels AS t2 ON t1.id = t2.id WHERE t2.k >= 0 ORDER BY 2 NULLS FIRST"
    )
    check = check_tree(oracle, tree, seed=1, index=0)
    assert check.kind is Kind.CONTENT
    finding = make_finding(check, 1, 0, [])
    schema = common_schema(duck, lite)
    reduced = reduce_finding(oracle, finding, schema=schema)
    assert reduced.reduced and reduced.reduced_size * 3 <= reduced.original_size
    sql = reduced.check.sql["sut"]
    assert "v" in sql and "labels" not in sql and "WHERE" not in sql, sql
    assert reproduce_key(reduced.check) == reproduce_key(check)
    assert reduced.shape.endswith("columns:FLOAT")
    assert reduced.signature != finding.signature  # the unreduced query signs otherwise


def test_repeated_findings_collapse_into_few_signatures(nan_engines) -> None:
    duck, lite = nan_engines
    oracle = Differential(duck, lite, timeout=5)
    schema = common_schema(duck, lite)
    findings = []
    stats = run(
        oracle,
        QueryGenerator(schema, seed=3, dialects=(duck.dialect, lite.dialect)),
        budget_queries=150,
        budget_seconds=None,
        on_finding=findings.append,
    )
    assert stats.findings >= 8, stats.summary()
    raw = {f.signature for f in findings}
    reduced = [reduce_finding(oracle, f, schema=schema, max_checks=80) for f in findings[:12]]
    signatures = {r.signature for r in reduced}
    assert len(raw) == len(findings)  # no two generated queries alike...
    assert len(signatures) <= len(reduced) // 2, [r.check.sql["sut"] for r in reduced]
    # ...and every reduced query still reads the column holding NaN.
    for r in reduced:
        assert "FLOAT" in r.shape.rsplit("columns:", 1)[1], r.check.sql["sut"]


def test_known_issues_match_the_reduced_finding(nan_engines) -> None:
    duck, lite = nan_engines
    oracle = Differential(duck, lite, timeout=5)
    tree = sqlglot.parse_one("SELECT t1.v AS c0, t1.k AS c1 FROM measures AS t1 WHERE t1.k > 2")
    finding = make_finding(check_tree(oracle, tree, 1, 0), 1, 0, [])
    issue = KnownIssue(r"(?s)^content\b.*columns:FLOAT", "https://example.org/nan", "label")
    other = KnownIssue(r"^error\b", "https://example.org/other", "label")
    reduced = reduce_finding(oracle, finding, known=[other, issue], schema=Schema(()))
    # An empty schema: every column's type is unknown; the pattern no longer matches.
    assert reduced.known is None
    reduced = reduce_finding(
        oracle, finding, known=[other, issue], schema=common_schema(duck, lite)
    )
    assert reduced.known == issue


class _FlakyOracle:
    """The real oracle for the first check only; every later check sees the engines agree (as
    with a difference that came from a timeout near the limit, or another session's state)."""

    def __init__(self, oracle: Differential) -> None:
        self.oracle, self.name, self.calls = oracle, oracle.name, 0

    def check(self, query: Query):
        self.calls += 1
        if self.calls == 1:
            return self.oracle.check(query)
        agreed = Query(tree=sqlglot.parse_one("SELECT 1 AS c0"), types=[], seed=1, index=0)
        return self.oracle.check(agreed)


def test_a_finding_that_no_longer_fails_is_kept_whole(nan_engines) -> None:
    duck, lite = nan_engines
    flaky = _FlakyOracle(Differential(duck, lite, timeout=5))
    tree = sqlglot.parse_one("SELECT t1.v AS c0, t1.k AS c1 FROM measures AS t1 WHERE t1.k > 2")
    check = flaky.check(Query(tree=tree, types=[], seed=1, index=0))
    assert check.kind is Kind.CONTENT
    finding = make_finding(check, 1, 0, [])
    reduced = reduce_finding(flaky, finding, schema=common_schema(duck, lite))
    assert flaky.calls == 2  # the query itself, checked once more as candidates are: no reduction
    assert not reduced.reduced
    assert reduced.reduced_size == reduced.original_size
    assert reduced.check is check


def test_constant_select_items_sign_alike() -> None:
    from querygen.engine.shape import query_shape

    shapes = {
        query_shape(canonical(sqlglot.parse_one(f"SELECT {c} AS c0 FROM t WHERE t.v >= 0")))
        for c in ("NULL", "0", "''", "FALSE", "1.5")
    }
    assert len(shapes) == 1
    kept = canonical(sqlglot.parse_one("SELECT t.v + 0 AS c0 FROM t WHERE t.v >= 1"))
    assert kept.sql() == "SELECT t.v + 0 AS c0 FROM t WHERE t.v >= 1"  # only select items


def test_a_column_of_no_table_is_unknown() -> None:
    schema = Schema((table("t", "a:int"),))
    assert column_types(sqlglot.parse_one("SELECT x.a FROM t AS y"), schema) == "?"


# --- difference_key -------------------------------------------------------------------------------


def _check(kind: Kind, sut_only=(), ref_only=(), sut_error: str = "") -> Check:
    sut = Outcome(Status.ERROR, error=sut_error) if sut_error else Outcome(Status.OK)
    return Check(
        kind=kind,
        sql={"sut": "", "ref": ""},
        outcomes={"sut": sut, "ref": Outcome(Status.OK)},
        detail="",
        sut_only=list(sut_only),
        ref_only=list(ref_only),
    )


def test_the_difference_of_a_real_nan_finding(nan_engines) -> None:
    duck, lite = nan_engines
    oracle = Differential(duck, lite, timeout=5)
    tree = sqlglot.parse_one("SELECT t1.v AS c0, t1.k AS c1 FROM measures AS t1 WHERE t1.k > 2")
    assert difference_key(check_tree(oracle, tree, 1, 0)) == "content|NaN>NULL"


def test_differences_column_by_column() -> None:
    # The other columns of a differing row cancel out; each differing column says how.
    assert (
        difference_key(
            _check(
                Kind.CONTENT,
                [(Decimal("1.5"), 1, "a"), (2.0, 2, "b")],
                [(1.5, 1, "a"), (2.5, 2, "b")],
            )
        )
        == "content|decimal|float>float"
    )
    assert difference_key(_check(Kind.CONTENT, [(1.25, True)], [(1.5, True)])) == "content|float~"
    assert difference_key(_check(Kind.CONTENT, [(1, False)], [(1, 0)])) == "content|bool>int"
    # The same rows in another order: nothing to say.
    assert difference_key(_check(Kind.CONTENT, [(1,), (2,)], [(2,), (1,)])) is None
    # Row counts say little of why: reduced or grouped by their query instead.
    assert difference_key(_check(Kind.ROW_COUNT, [(1,)], [])) is None


def test_an_error_difference_is_its_normalized_message() -> None:
    first = _check(Kind.ERROR, sut_error='Conversion Error: Could not convert string "x" to INT32')
    second = _check(
        Kind.ERROR, sut_error='Conversion Error: Could not convert string "yy" to INT32'
    )
    assert difference_key(first) == difference_key(second)
    assert (
        difference_key(first)
        == "error|sut|Conversion Error: Could not convert string <id> to INT<n>"
    )


# A query querygen generated on the demo pair (DuckDB vs SQLite, seed 1684146367): DuckDB 2.0.0
# fails in its optimizer with an internal error. docs/querygen.md has the hand-made repro.
DUCKDB_2_0_0_CRASH = (
    'SELECT t2."f32" AS c0, CAST(\'2023-01-14\' AS DATE) AS c1, t2."flag" AS c2 FROM times AS t1 '
    'INNER JOIN numbers AS t2 ON t1."id" = t2."id" AND NOT (EXISTS(SELECT 1 FROM facts AS t3 '
    'LEFT JOIN times AS t4 ON t3."number_id" = t4."id" WHERE t1."id" = t3."string_id" AND '
    '(t3."price" < t3."price" OR t4."ts" IS NULL))) LEFT JOIN numbers AS t5 ON t2."id" = t5."id" '
    "AND ((CAST('2018-06-03 22:49:38' AS TIMESTAMP) < t1.\"ts\" AND NOT EXISTS(SELECT 1 FROM "
    'facts AS t6 WHERE t1."id" = t6."time_id" AND t6."qty" = t6."k")) OR NOT t2."id" IN (7)) '
    "WHERE t1.\"id\" BETWEEN 4745 AND 4944 AND (CAST('2013-09-29 01:27:25' AS TIMESTAMP) <> "
    't1."ts" AND NOT t2."f32" IS NULL)'
)


def test_a_real_duckdb_bug_is_a_crash_reduced_to_a_small_query(
    querygen_duckdb: Path, querygen_sqlite: Path
) -> None:
    import duckdb

    with DuckDBClient(querygen_duckdb) as duck, SQLiteClient(querygen_sqlite) as lite:
        oracle = Differential(duck, lite, timeout=5)
        tree = sqlglot.parse_one(DUCKDB_2_0_0_CRASH, dialect="duckdb")
        check = check_tree(oracle, tree, 1, 0)
        if duckdb.__version__ != "2.0.0":  # fixed upstream: the query is answered, no crash
            assert check.kind is not Kind.CRASH, check.detail
            return
        assert check.kind is Kind.CRASH and check.outcomes["ref"].ok
        assert "INTERNAL Error: Attempted to access index" in check.errors["sut"]
        reduced = reduce_finding(
            oracle, make_finding(check, 1, 0, []), schema=common_schema(duck, lite)
        )
        assert reduced.check.kind is Kind.CRASH and reduced.reduced
        assert reduced.reduced_size * 3 <= reduced.original_size, reduced.check.sql["sut"]
        assert reduced.error == (
            "INTERNAL Error: Attempted to access index <n> within vector of size <n>"
        )
        # The engine is usable again after the crash.
        assert duck.execute("SELECT 1", timeout=5).rows == [(1,)]
