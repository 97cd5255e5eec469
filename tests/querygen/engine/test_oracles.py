"""The oracles: Differential between DuckDB and SQLite finds their real differences of meaning,
TLP and NoREC derive equivalent queries without touching the input, report no false positive
on generated queries, and catch an engine that answers one partition wrongly; Plan runs the
query again under optimizer settings that are in force for that run only (DuckDB, PostgreSQL)."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from querygen.engine.compare import Kind, Side
from querygen.engine.engines import (
    CatalogColumn,
    DuckDBClient,
    EngineClient,
    IsolatedClient,
    PostgresClient,
    SQLiteClient,
)
from querygen.engine.generator import Query, QueryGenerator
from querygen.engine.model import Outcome, Schema, SqlType, Status, Table
from querygen.engine.oracles import TLP, Check, Differential, NoREC, Plan, render
from querygen.engine.profile import Profile
from querygen.engine.runner import FailedCheck, replay, run
from querygen.engine.schema import common_schema
from tests.querygen.conftest import QUERYGEN_TABLES

SCHEMA = Schema(tuple(QUERYGEN_TABLES))
# Fewer joins and subqueries than the default profile: the same constructs, quicker answers.
LIGHT = Profile(max_tables=2, p_subquery=0.1, p_scalar_subquery=0.02)
# For the metamorphic oracles' hundreds of queries: fewer joins, and no CROSS JOIN, whose
# 48 million rows only time out on SQLite.
SLIM = Profile(
    max_tables=2, p_join=0.35, p_subquery=0.1, p_scalar_subquery=0.02,
    join_weights={"inner": 4, "left": 3, "right": 1, "full": 1, "cross": 0},
)  # fmt: skip


def parsed(sql: str, types: list[SqlType], *, seed: int = 0, index: int = 0) -> Query:
    return Query(sqlglot.parse_one(sql, read="duckdb"), types, None, seed, index)


@pytest.fixture(scope="module")
def duck(querygen_duckdb: Path) -> Iterator[DuckDBClient]:
    with DuckDBClient(querygen_duckdb) as engine:
        yield engine


@pytest.fixture(scope="module")
def lite(querygen_sqlite: Path) -> Iterator[SQLiteClient]:
    with SQLiteClient(querygen_sqlite) as engine:
        yield engine


# --- Differential ---------------------------------------------------------------------------


def test_sqlite_stores_nan_as_null_and_differential_says_so(duck, lite) -> None:
    oracle = Differential(duck, lite, timeout=5)
    check = oracle.check(parsed('SELECT t1."f64" AS c0 FROM numbers AS t1', [SqlType.FLOAT]))
    assert check.kind is Kind.CONTENT and check.finding
    assert check.sides == ["sut", "ref"]
    assert check.engines == {"sut": duck.name, "ref": lite.name}
    # DuckDB keeps the NaNs the data holds; SQLite turned each into NULL on insert.
    assert check.sut_only and all(math.isnan(row[0]) for row in check.sut_only)
    assert check.ref_only and all(row[0] is None for row in check.ref_only)
    assert len(check.sut_only) == len(check.ref_only)
    assert check.seconds_in_engines > 0


def test_duckdb_refuses_an_integer_overflow_that_sqlite_turns_into_a_float(duck, lite) -> None:
    check = Differential(duck, lite, timeout=5).check(
        parsed('SELECT (t1."i64" + 1) AS c0 FROM numbers AS t1', [SqlType.INT])
    )
    assert check.kind is Kind.ERROR and check.comparison.side is Side.SUT
    assert "Overflow" in check.errors["sut"] and "ref" not in check.errors
    assert check.outcomes["ref"].ok
    assert any(isinstance(row[0], float) for row in check.outcomes["ref"].rows)


def test_generated_queries_find_differences_that_replay(duck, lite) -> None:
    generator = QueryGenerator(common_schema(duck, lite), LIGHT, seed=1)
    oracle = Differential(duck, lite, timeout=1)
    findings: list[FailedCheck] = []
    stats = run(
        oracle, generator, budget_queries=40, budget_seconds=None, on_finding=findings.append
    )
    assert stats.queries == 40 and findings, stats.summary()
    kinds = {f.kind for f in findings}
    assert kinds & {Kind.CONTENT, Kind.ROW_COUNT, Kind.ERROR}, kinds
    for finding in findings[:3]:
        again = replay(oracle, generator, finding.index)
        assert again.verdict() == finding.check.verdict()


# --- TLP and NoREC: the derived queries -----------------------------------------------------


def tlp_sql(oracle: TLP, sql: str, types: list[SqlType]) -> tuple[str, str, str]:
    query = parsed(sql, types)
    before = query.tree.sql()
    derived = oracle.derive(query)
    assert derived is not None
    assert query.tree.sql() == before  # the input tree is never changed
    partitioned, whole, mode = derived
    return partitioned.sql(dialect="duckdb"), whole.sql(dialect="duckdb"), mode


@pytest.fixture(scope="module")
def tlp_duck(duck) -> TLP:
    return TLP(duck, timeout=2)


def test_tlp_partitions_a_plain_select_by_its_where(tlp_duck) -> None:
    partitioned, whole, mode = tlp_sql(
        tlp_duck,
        "SELECT t1.k AS c0 FROM numbers AS t1 LEFT JOIN facts AS t2 ON t1.id = t2.number_id "
        "WHERE t1.i32 > 5 ORDER BY 1 LIMIT 3",
        [SqlType.INT],
    )
    assert mode == "rows"
    assert whole == (
        "SELECT t1.k AS c0 FROM numbers AS t1 LEFT JOIN facts AS t2 ON t1.id = t2.number_id"
    )
    assert partitioned == (
        f"{whole} WHERE (t1.i32 > 5) UNION ALL {whole} WHERE NOT (t1.i32 > 5) "
        f"UNION ALL {whole} WHERE (t1.i32 > 5) IS NULL"
    )


def test_tlp_keeps_distinct_with_union_and_groups_by_the_keys(tlp_duck) -> None:
    partitioned, whole, _ = tlp_sql(
        tlp_duck, "SELECT DISTINCT t1.k AS c0 FROM numbers AS t1 WHERE t1.flag", [SqlType.INT]
    )
    assert whole.startswith("SELECT DISTINCT t1.k")
    assert partitioned.count(" UNION ") == 2 and "UNION ALL" not in partitioned

    partitioned, whole, mode = tlp_sql(
        tlp_duck,
        "SELECT MAX(t1.f64) AS c0, t1.few AS c1 FROM numbers AS t1 WHERE t1.k < 3 "
        "GROUP BY t1.few, t1.k HAVING COUNT(*) > 1",
        [SqlType.FLOAT, SqlType.INT],
    )
    assert mode == "group"
    assert whole == "SELECT t1.few AS k0, t1.k AS k1 FROM numbers AS t1 GROUP BY t1.few, t1.k"
    assert "HAVING" not in partitioned and "UNION ALL" not in partitioned
    assert partitioned.count("GROUP BY t1.few, t1.k") == 3
    # GROUP BY 2 names the second select item
    _, whole, _ = tlp_sql(
        tlp_duck,
        "SELECT COUNT(*) AS c0, t1.few AS c1 FROM numbers AS t1 WHERE t1.k < 3 GROUP BY 2",
        [SqlType.INT, SqlType.INT],
    )
    assert whole == "SELECT t1.few AS k0 FROM numbers AS t1 GROUP BY t1.few"


def test_tlp_recombines_min_max_count_sum_and_strips_the_rest(tlp_duck, lite) -> None:
    sql = (
        "SELECT MIN(t1.i32) AS c0, COUNT(*) AS c1, SUM(t1.amount) AS c2, MAX(t1.word) AS c3 "
        "FROM numbers AS t1 CROSS JOIN strings AS t2 WHERE t2.k = 1"
    )
    types = [SqlType.INT, SqlType.INT, SqlType.DECIMAL, SqlType.TEXT]
    partitioned, whole, mode = tlp_sql(tlp_duck, sql, types)
    assert mode == "aggregate"
    assert partitioned.startswith(
        "SELECT MIN(tlp.a0) AS c0, SUM(tlp.a1) AS c1, SUM(tlp.a2) AS c2, MAX(tlp.a3) AS c3 FROM ("
    )
    assert "COUNT(*) AS a1" in partitioned and partitioned.count("UNION ALL") == 2
    assert whole.startswith("SELECT MIN(t1.i32) AS c0, COUNT(*) AS c1")
    # SQLite keeps DECIMAL as a float: its sum depends on the order of the additions
    assert tlp_sql(TLP(lite), sql, types)[2] == "rows"

    # AVG, a SUM of floats, windows: replaced by their argument, checked as rows
    partitioned, whole, mode = tlp_sql(
        tlp_duck,
        "SELECT AVG(t1.f64) AS c0, COUNT(*) OVER (PARTITION BY t1.k) AS c1, "
        "SUM(t1.f32) + 1 AS c2 FROM numbers AS t1 WHERE t1.k = 2",
        [SqlType.FLOAT, SqlType.INT, SqlType.FLOAT],
    )
    assert mode == "rows"
    assert whole == "SELECT t1.f64 AS c0, 1 AS c1, t1.f32 + 1 AS c2 FROM numbers AS t1"


def test_tlp_makes_a_predicate_when_there_is_no_where_and_keeps_with(tlp_duck) -> None:
    sql = (
        "WITH w AS (SELECT 1 AS c0) SELECT t1.k AS c0 FROM numbers AS t1 "
        "INNER JOIN facts AS t2 ON t1.id = t2.number_id"
    )
    first = tlp_sql(tlp_duck, sql, [SqlType.INT])
    assert first == tlp_sql(tlp_duck, sql, [SqlType.INT])  # drawn from (seed, index)
    partitioned, whole, _ = first
    assert whole.startswith("WITH w AS (SELECT 1 AS c0) SELECT t1.k")
    assert partitioned.startswith("WITH w AS") and partitioned.count("WITH") == 1
    assert partitioned.count(" WHERE ") >= 3
    other = tlp_duck.derive(parsed(sql, [SqlType.INT], index=7))
    assert other is not None and other[0].sql() != sqlglot.parse_one(partitioned).sql()


def test_set_operations_are_checked_on_their_first_select(tlp_duck) -> None:
    query = parsed(
        "SELECT t1.k AS c0 FROM numbers AS t1 WHERE t1.k > 1 "
        "EXCEPT SELECT t2.k AS c0 FROM strings AS t2",
        [SqlType.INT],
    )
    partitioned, whole, _ = tlp_duck.derive(query)
    assert whole.sql() == "SELECT t1.k AS c0 FROM numbers AS t1"
    assert "EXCEPT" not in partitioned.sql()


def test_queries_an_oracle_cannot_use_are_skipped_as_matches(duck) -> None:
    for oracle in (TLP(duck), NoREC(duck)):
        check = oracle.check(parsed("SELECT 1 AS c0", [SqlType.INT]))
        assert check.kind is Kind.MATCH and check.skipped and not check.finding
        assert check.sql == {} and check.seconds_in_engines == 0
    # a FROM of tables the schema does not know, and no WHERE: no predicate to draw
    lonely = TLP(duck, schema=Schema((Table("other", ()),)))
    assert lonely.check(parsed("SELECT t1.k AS c0 FROM numbers AS t1", [SqlType.INT])).skipped


def test_norec_counts_with_where_against_case_over_every_row(duck) -> None:
    oracle = NoREC(duck, timeout=2)
    query = parsed(
        "SELECT t1.k AS c0 FROM numbers AS t1 RIGHT JOIN facts AS t2 ON t1.id = t2.number_id "
        "WHERE t1.flag ORDER BY 1",
        [SqlType.INT],
    )
    optimized, unoptimized = (t.sql() for t in oracle.derive(query))
    source = "FROM numbers AS t1 RIGHT JOIN facts AS t2 ON t1.id = t2.number_id"
    assert optimized == f"SELECT COUNT(*) AS n {source} WHERE t1.flag"
    assert unoptimized == (
        f"SELECT COALESCE(SUM(CASE WHEN t1.flag THEN 1 ELSE 0 END), 0) AS n {source}"
    )
    check = oracle.check(query)
    assert check.kind is Kind.MATCH and not check.skipped
    assert check.sides == ["optimized", "unoptimized"]
    assert check.outcomes["optimized"].rows[0][0] > 0


def test_an_error_on_one_side_only_is_not_a_finding_of_one_engine(duck) -> None:
    # p overflows on some rows; which form evaluates it on which rows is the engine's choice
    check = TLP(duck, timeout=2).check(
        parsed(
            "SELECT t1.k AS c0 FROM numbers AS t1 WHERE CASE WHEN t1.id = 43 THEN t1.i64 - 5 "
            "ELSE 0 END < 0",
            [SqlType.INT],
        )
    )
    assert check.kind is Kind.BOTH_ERROR and not check.finding
    assert "only the partitioned form refused" in check.detail


# --- TLP and NoREC on the real engines: no false positives ----------------------------------


@pytest.mark.parametrize("kind", ["duckdb", "sqlite"])
def test_tlp_and_norec_agree_with_the_engines_on_generated_queries(duck, lite, kind) -> None:
    engine = duck if kind == "duckdb" else lite
    generator = QueryGenerator(Schema(tuple(engine.tables())), SLIM, seed=7)
    count = 120
    limits = {"timeout": 0.2, "max_rows": 5000}
    for oracle in (TLP(engine, **limits), NoREC(engine, **limits)):
        findings: list[FailedCheck] = []
        stats = run(
            oracle, generator, budget_queries=count, budget_seconds=None,
            on_finding=findings.append,
        )  # fmt: skip
        assert findings == [], [(f.index, f.detail, f.sql) for f in findings[:3]]
        assert stats.queries == count
        # most queries were really compared, not skipped or abandoned
        assert stats.matches - stats.skipped >= 0.6 * count, stats.summary()


# --- a real difference TLP finds on SQLite alone --------------------------------------------


def test_tlp_finds_that_sqlite_answers_nan_as_null_inside_a_sum(duck, lite) -> None:
    """numbers.f32 holds +inf and -inf. SUM over all rows is inf + -inf = NaN, which SQLite
    answers as NULL; split by ``i32 > 0``, the partitions with both infinities sum to NULL too,
    the outer SUM skips those NULLs and keeps the -inf of the NULL partition. On an engine
    where NaN stays NaN (DuckDB) the recombined sum is NaN like the whole: MATCH. This is why
    float sums are not recombined by default."""
    query = parsed(
        'SELECT SUM(t1."f32") AS c0 FROM numbers AS t1 WHERE t1."i32" > 0', [SqlType.FLOAT]
    )
    check = TLP(lite, timeout=5, float_sums=True).check(query)
    assert check.mode == "aggregate"
    assert check.kind is Kind.CONTENT and check.finding
    assert check.outcomes["whole"].rows == [(None,)]
    assert check.outcomes["partitioned"].rows == [(-math.inf,)]

    on_duckdb = TLP(duck, timeout=5, float_sums=True).check(query)
    assert on_duckdb.mode == "aggregate" and on_duckdb.kind is Kind.MATCH
    assert math.isnan(on_duckdb.outcomes["whole"].rows[0][0])
    # by default the sum is checked row by row instead: no finding
    default = TLP(lite, timeout=5).check(query)
    assert (default.mode, default.kind) == ("rows", Kind.MATCH)


# --- a planted inconsistency: an engine that loses the NULL partition ------------------------


class LosesNullPartition(EngineClient):
    """Test double at the engine boundary: a real engine, except that in a UNION of queries
    it answers ``WHERE (p) IS NULL`` as if nothing matched. The classic shape of an optimizer
    bug that folds a NULL-able predicate to FALSE."""

    def __init__(self, inner: EngineClient) -> None:
        self.inner = inner
        self.name = f"loses-null-partition:{inner.name}"
        self.dialect = inner.dialect

    def execute(self, sql: str, *, timeout: float = 10.0, max_rows: int = 10_000) -> Outcome:
        tree = sqlglot.parse_one(sql, read=self.dialect)
        if isinstance(tree, exp.Union):
            for where in tree.find_all(exp.Where):
                if isinstance(where.this, exp.Is) and isinstance(where.this.expression, exp.Null):
                    where.set("this", exp.false())
        return self.inner.execute(
            tree.sql(dialect=self.dialect), timeout=timeout, max_rows=max_rows
        )

    def version(self) -> str:
        return self.inner.version()

    def catalog(self) -> list[CatalogColumn]:
        return self.inner.catalog()

    def close(self) -> None:
        pass


def test_tlp_catches_an_engine_that_loses_the_null_partition(duck) -> None:
    oracle = TLP(LosesNullPartition(duck), timeout=2)
    check = oracle.check(
        parsed("SELECT t1.id AS c0 FROM numbers AS t1 WHERE t1.flag", [SqlType.INT])
    )
    assert check.kind is Kind.ROW_COUNT and check.finding
    # the rows lost are exactly those whose flag is NULL
    nulls = duck.execute("SELECT id FROM numbers WHERE flag IS NULL").rows
    assert check.comparison.ref_only_count == len(nulls) and check.sut_only == []
    assert set(check.ref_only) <= set(nulls)
    # the same query on the engine itself: no finding
    assert (
        TLP(duck, timeout=2)
        .check(parsed("SELECT t1.id AS c0 FROM numbers AS t1 WHERE t1.flag", [SqlType.INT]))
        .kind
        is Kind.MATCH
    )


def test_check_verdict_ignores_timings() -> None:
    a = Check(Kind.MATCH, {"x": "SELECT 1"}, {"x": Outcome(Status.OK, seconds=1)}, "same")
    b = Check(Kind.MATCH, {"x": "SELECT 1"}, {"x": Outcome(Status.OK, seconds=2)}, "same")
    assert a.verdict() == b.verdict()


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite", "postgres"])
def test_render_leaves_every_generated_tree_as_it_was(dialect: str) -> None:
    """render() copies only divisions (SQLite's and PostgreSQL's generators rewrite them): every
    tree generated for a dialect, in both profiles, must come out of its generator unchanged
    (what a dialect would rewrite in place, as SQLite's does DISTINCT ON, is not generated for
    it: generator.UNSUPPORTED)."""
    from querygen.engine.profile import Profile

    schema = Schema(tuple(QUERYGEN_TABLES))
    for profile in (Profile(), Profile.named("fast")):
        generator = QueryGenerator(schema, profile, seed=8, dialects=(dialect,))
        divisions = 0
        for index in range(700):
            tree = generator.query(index).tree
            before = tree.copy()
            assert render(tree, dialect) == before.sql(dialect=dialect)
            assert tree == before, (profile.name, index)
            divisions += tree.find(exp.Div) is not None
        assert divisions > 20


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite", "postgres"])
def test_render_is_tree_sql_and_leaves_the_tree_as_it_was(dialect: str) -> None:
    # SQLite's and PostgreSQL's generators add a CAST to a division's operand as they render
    tree = sqlglot.parse_one("SELECT a / NULLIF(b, 0) AS c0 FROM t WHERE a / 2 > 1")
    before = tree.copy()
    assert render(tree, dialect) == before.sql(dialect=dialect)
    assert render(tree, dialect) == before.sql(dialect=dialect)  # the kept generator again
    assert tree == before and tree.sql() == before.sql()


def test_a_crash_is_named_by_the_side_that_crashed() -> None:
    """The SUT refused the query and the reference crashed on it: a crash of the reference,
    titled and signed with the reference's error, not the SUT's refusal."""
    from querygen.engine.oracles import naming_error
    from querygen.engine.pipeline import reproduce_key
    from querygen.engine.runner import make_finding

    check = Check(
        Kind.CRASH,
        {"sut": "SELECT 1", "ref": "SELECT 1"},
        {
            "sut": Outcome(Status.ERROR, error='Binder Error: column "c0" not found'),
            "ref": Outcome(Status.CRASH, error="INTERNAL Error: Attempted to access index 7"),
        },
        "reference crashed",
    )
    assert check.error == "INTERNAL Error: Attempted to access index 7"
    assert make_finding(check, 1, 0, []).error == check.error
    assert reproduce_key(check)[2] == "INTERNAL Error: Attempted to access index <n>"
    # Errors and both-refused checks keep the first error, SUT side first.
    both = [(Status.ERROR, "first"), (Status.ERROR, "second")]
    assert naming_error(Kind.BOTH_ERROR, both) == "first"
    assert naming_error(Kind.ERROR, [(Status.OK, ""), (Status.ERROR, "ref only")]) == "ref only"
    assert naming_error(Kind.CONTENT, [(Status.OK, ""), (Status.OK, "")]) == ""


# --- Plan: the query again with the optimizer (or some of its rules) off ---------------------

SETTINGS_NOW = (
    "SELECT current_setting('disabled_optimizers') AS c0, current_setting('enable_optimizer') AS c1"
)


def index_where(oracle: Plan, wanted: Callable[[str], bool], seed: int = 0) -> int:
    """The first query index (of ``seed``) whose settings' label ``wanted`` accepts."""
    return next(
        i
        for i in range(1000)
        if wanted(oracle.settings(parsed("SELECT 1", [], seed=seed, index=i)).label)
    )


def assert_duckdb_defaults(engine: EngineClient) -> None:
    assert engine.execute(SETTINGS_NOW).rows == [("", True)]


def test_plan_needs_an_engine_whose_optimizer_can_be_switched_off(lite) -> None:
    with pytest.raises(ValueError, match="the plan oracle needs DuckDB or PostgreSQL"):
        Plan(lite)


def test_plan_runs_the_query_again_under_settings_that_show_in_its_sql(duck) -> None:
    """The settings are really in force for the second run, and only for it: a query that
    reads them answers differently, which the oracle reports as a difference of content."""
    oracle = Plan(duck, timeout=2)
    for wanted in (lambda label: label.startswith("disabled_optimizers="),
                   lambda label: label == "disable_optimizer"):  # fmt: skip
        index = index_where(oracle, wanted)
        settings = oracle.settings(parsed("SELECT 1", [], index=index))
        query = parsed(SETTINGS_NOW, [SqlType.TEXT, SqlType.BOOL], index=index)
        check = oracle.check(query)
        unoptimized = f"unoptimized ({settings.label})"
        assert check.sides == ["optimized", unoptimized]
        assert check.engines == {"optimized": duck.name, unoptimized: duck.name}
        plain = render(query.tree, "duckdb")
        assert check.sql == {"optimized": plain, unoptimized: f"{settings.statements[0]}; {plain}"}
        assert check.kind is Kind.CONTENT and check.finding
        assert check.outcomes["optimized"].rows == [("", True)]
        [(rules, enabled)] = check.outcomes[unoptimized].rows
        if settings.label == "disable_optimizer":
            assert (rules, enabled) == ("", False)
        else:  # DuckDB lists the rules in its own order
            assert enabled and rules
            assert set(rules.split(",")) == set(settings.label.split("=")[1].split(","))
        assert check.seconds_in_engines > 0
        assert_duckdb_defaults(duck)
        assert oracle.check(query).verdict() == check.verdict()  # a replay: the same settings


def test_plan_restores_the_settings_after_a_query_that_failed(duck) -> None:
    oracle = Plan(duck, timeout=2)
    overflow = "SELECT t1.i64 + 9223372036854775807 AS c0 FROM numbers AS t1"
    for wanted in (lambda label: label != "disable_optimizer",
                   lambda label: label == "disable_optimizer"):  # fmt: skip
        query = parsed(overflow, [SqlType.INT], index=index_where(oracle, wanted))
        check = oracle.check(query)
        assert check.kind is Kind.BOTH_ERROR and not check.finding
        assert all("Overflow" in error for error in check.errors.values())
        assert_duckdb_defaults(duck)
        missing = oracle.check(parsed("SELECT nope FROM numbers", [], index=query.index))
        assert missing.kind is Kind.BOTH_ERROR
        assert_duckdb_defaults(duck)


def plan_finds_nothing(oracle: Plan, engine: EngineClient, seed: int, count: int) -> QueryGenerator:
    """Run the oracle over ``count`` generated queries: no finding, nearly all compared."""
    generator = QueryGenerator(Schema(tuple(engine.tables())), SLIM, seed=seed)
    findings: list[FailedCheck] = []
    stats = run(
        oracle, generator, budget_queries=count, budget_seconds=None, on_finding=findings.append
    )
    assert findings == [], [(f.index, f.detail, f.sql) for f in findings[:3]]
    assert stats.queries == count and stats.skipped == 0
    assert stats.matches >= 0.8 * count, stats.summary()
    return generator


def test_plan_agrees_with_duckdb_on_generated_queries(duck) -> None:
    oracle = Plan(duck, timeout=0.5, max_rows=5000)
    count = 150
    generator = plan_finds_nothing(oracle, duck, 11, count)
    # both kinds of settings were drawn, and each check left the engine as it found it
    labels = {oracle.settings(generator.query(i)).label for i in range(count)}
    assert "disable_optimizer" in labels and len(labels) > 50
    assert_duckdb_defaults(duck)


# DuckDB 0.9.2 answers NULL for NOT EXISTS of a correlated subquery when the outer value is
# NULL (EXISTS is never NULL), with its optimizer on; off, it answers TRUE. Fixed in 0.10.
NOT_EXISTS = (
    "SELECT t.a AS a, NOT EXISTS (SELECT 1 FROM t AS t2 WHERE t2.b > t.b) AS top FROM t AS t"
)
MAKE_NOT_EXISTS = """import duckdb, sys
c = duckdb.connect(sys.argv[1])
c.execute("CREATE TABLE t (a INTEGER, b INTEGER)")
c.execute("INSERT INTO t VALUES (1, 1), (2, 2), (3, NULL)")
c.close()
"""


def release_engine(python: Path, directory: Path) -> IsolatedClient:
    """An engine of another DuckDB release on NOT_EXISTS's table, in a file that release made."""
    path = directory / f"not_exists_{python.parent.parent.name}.duckdb"
    subprocess.run([str(python), "-c", MAKE_NOT_EXISTS, str(path)], check=True, timeout=120)
    return IsolatedClient(python, "duckdb", path)


def test_plan_finds_the_not_exists_bug_of_duckdb_0_9_with_the_optimizer_off(
    duckdb_releases: dict[str, Path], tmp_path: Path
) -> None:
    """A real wrong result the oracle reports; 0.9.2 has no duckdb_optimizers(), so the
    oracle switches the whole optimizer off there."""
    query = parsed(NOT_EXISTS, [SqlType.INT, SqlType.BOOL])
    with release_engine(duckdb_releases["0.9.2"], tmp_path) as old:
        oracle = Plan(old, timeout=5)
        assert oracle.menu.rules == ()
        labels = {oracle.settings(parsed("SELECT 1", [], index=i)).label for i in range(30)}
        assert labels == {"disable_optimizer"}
        check = oracle.check(query)
        assert check.kind is Kind.CONTENT and check.finding
        assert check.sides == ["optimized", "unoptimized (disable_optimizer)"]
        assert check.sql[check.sides[1]] == f"PRAGMA disable_optimizer; {check.sql['optimized']}"
        assert check.sut_only == [(3, None)] and check.ref_only == [(3, True)]
        # restored: the engine answers with its optimizer (and its bug) again
        assert sorted(old.execute(NOT_EXISTS).rows, key=repr)[-1] == (3, None)

    # fixed since 0.10; 1.1.3 lists its rules, which the oracle draws from
    with release_engine(duckdb_releases["1.1.3"], tmp_path) as fixed:
        oracle = Plan(fixed, timeout=5)
        assert (
            "join_filter_pushdown" in oracle.menu.rules and "type_pushdown" not in oracle.menu.rules
        )
        for index in range(5):
            check = oracle.check(parsed(NOT_EXISTS, [SqlType.INT, SqlType.BOOL], index=index))
            assert check.kind is Kind.MATCH, check.detail
        assert fixed.execute("SELECT current_setting('disabled_optimizers')").rows == [("",)]


def test_plan_through_an_isolated_engine_sets_and_restores_in_its_worker(
    querygen_duckdb: Path,
) -> None:
    with IsolatedClient(sys.executable, "duckdb", querygen_duckdb) as isolated:
        oracle = Plan(isolated, timeout=2)
        index = index_where(oracle, lambda label: label != "disable_optimizer")
        check = oracle.check(parsed(SETTINGS_NOW, [SqlType.TEXT, SqlType.BOOL], index=index))
        assert check.kind is Kind.CONTENT
        assert check.outcomes[check.sides[1]].rows[0][0] != ""
        assert_duckdb_defaults(isolated)


@pytest.fixture
def pg_plan(querygen_pg: str) -> Iterator[tuple[PostgresClient, Plan]]:
    with PostgresClient(querygen_pg) as pg, Plan(pg, conninfo=querygen_pg, timeout=2) as oracle:
        yield pg, oracle


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_plan_on_postgresql_plans_on_connections_with_the_settings(pg_plan) -> None:
    pg, oracle = pg_plan
    index = index_where(oracle, lambda label: "enable_hashjoin=off" in label)
    settings = oracle.settings(parsed("SELECT 1", [], index=index))
    sql = "SELECT current_setting('enable_hashjoin') AS c0"
    check = oracle.check(Query(sqlglot.parse_one(sql), [SqlType.TEXT], None, 0, index))
    unoptimized = f"unoptimized ({settings.label})"
    assert check.sides == ["optimized", unoptimized]
    assert "SET enable_hashjoin = off; " in check.sql[unoptimized]
    assert check.sql[unoptimized].startswith("SET ")
    assert check.sql[unoptimized].endswith(f"; {check.sql['optimized']}")
    assert check.kind is Kind.CONTENT and check.finding
    assert check.outcomes["optimized"].rows == [("on",)]
    assert check.outcomes[unoptimized].rows == [("off",)]
    # the engine's own connection never changed; a failing query changes nothing either
    assert pg.execute(sql).rows == [("on",)]
    failed = oracle.check(Query(sqlglot.parse_one("SELECT 1 / 0 AS c0"), [SqlType.INT]))
    assert failed.kind is Kind.BOTH_ERROR
    assert pg.execute(sql).rows == [("on",)]


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_plan_agrees_with_postgresql_on_generated_queries(pg_plan) -> None:
    pg, oracle = pg_plan
    plan_finds_nothing(oracle, pg, 12, 120)
    assert len(oracle._connections) > 5  # one connection per set of settings drawn
    oracle.close()
    assert oracle._connections == {}
