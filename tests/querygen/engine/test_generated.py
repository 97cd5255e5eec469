"""generated.py with runner.py and pipeline.py: queries over querygen's own databases, on real
DuckDB and SQLite engines in memory (and, PostgreSQL pass, a real PostgreSQL); a finding is
reduced to a small query *and* a small database, and written as a reproducer that runs as it
is."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
import sqlglot

from querygen.engine import worker
from querygen.engine.compare import Kind
from querygen.engine.database import Database, DatabaseSettings, TableData
from querygen.engine.engines import DuckDBClient, PostgresClient, SQLiteClient
from querygen.engine.generated import GeneratedQueries, LoadFailed
from querygen.engine.model import Column, SqlType
from querygen.engine.oracles import Differential, Plan
from querygen.engine.pipeline import check_tree, reduce_finding
from querygen.engine.runner import MAX_REFUSALS, MAX_REFUSED_IN_A_ROW, make_finding, run


@pytest.fixture
def pair() -> Iterator[tuple[DuckDBClient, SQLiteClient]]:
    with DuckDBClient(worker.MEMORY) as duck, SQLiteClient(worker.MEMORY) as lite:
        yield duck, lite


def test_each_query_runs_on_its_database(pair) -> None:
    duck, lite = pair
    source = GeneratedQueries([duck, lite], seed=3, settings=DatabaseSettings(queries=10))
    source.query(0)
    assert source.loads == 1 and source.loaded == source.database(0)
    for index in range(1, 10):
        source.query(index)
    assert source.loads == 1
    source.query(25)
    assert source.loads == 2 and source.loaded == source.database(2)
    tables = {c.table for c in lite.catalog()}
    assert tables == {t.name for t in source.database(2).tables}
    # the same query, again from (seed, index) alone, after others
    again = GeneratedQueries([duck, lite], seed=3, settings=DatabaseSettings(queries=10))
    assert again.query(25).tree.sql() == source.query(25).tree.sql()


def test_a_run_checks_generated_queries_and_counts_them(pair) -> None:
    duck, lite = pair
    source = GeneratedQueries([duck, lite], seed=1, settings=DatabaseSettings(queries=20))
    stats = run(
        Differential(duck, lite, timeout=5), source, budget_queries=200, budget_seconds=None
    )
    assert stats.queries == 200 and stats.next_index == 200
    assert source.loads == 10 and stats.refused_databases == 0
    # The engines agree on most of what they answer: the databases are valid for both.
    assert stats.matches >= 150 and stats.reference_ok >= 150


def test_a_database_an_engine_refuses_is_skipped_and_counted(pair, tmp_path) -> None:
    duck, _ = pair
    path = tmp_path / "file.sqlite"
    sqlite3.connect(path).close()
    with SQLiteClient(path) as on_file:  # a file engine: it cannot load a database
        source = GeneratedQueries([duck, on_file], seed=1, settings=DatabaseSettings(queries=5))
        with pytest.raises(LoadFailed, match="database 0: .* refused it: load needs location"):
            source.query(0)
        stats = run(Differential(duck, on_file), source, budget_queries=None, budget_seconds=0.5)
        assert stats.queries == 0 and stats.refused_databases > 0
        assert stats.next_index % 5 == 0 and "databases refused" in stats.summary()
        # A budget in queries is never spent when no database loads: the run gives up.
        stats = run(Differential(duck, on_file), source, budget_queries=50, budget_seconds=None)
    assert stats.stopped_by == "refusals" and stats.queries == 0
    assert stats.refused_databases == MAX_REFUSED_IN_A_ROW and len(stats.refusals) == MAX_REFUSALS


def test_generate_makes_the_query_without_loading_its_database(pair) -> None:
    duck, lite = pair
    source = GeneratedQueries([duck, lite], seed=3, settings=DatabaseSettings(queries=10))
    loading = GeneratedQueries([duck, lite], seed=3, settings=DatabaseSettings(queries=10))
    for index in (0, 9, 10, 35):
        assert source.generate(index).tree == loading.query(index).tree
    assert source.loads == 0 and source.loaded is None and loading.loads == 3


class _Fixed(GeneratedQueries):
    """Every query on one written database: a finding whose cause is known."""

    def __init__(self, engines, database: Database) -> None:
        super().__init__(engines)
        self.fixed = database

    def database(self, number: int) -> Database:
        return self.fixed


def test_a_finding_is_reduced_to_a_few_rows_and_a_script_that_reproduces_it(pair) -> None:
    """SQLite's LIKE ignores case, DuckDB's does not: the rows that show it stay, the rest of
    the database goes, and the script, run as it is in SQLite, answers what SQLite answered."""
    duck, lite = pair
    words = [("A", 1, 2.5), ("b", 2, 0.5), ("x", None, 1.0), ("ab", 3, None), ("B", 4, 4.0)]
    database = Database(
        0,
        0,
        (
            TableData(
                "t0",
                (
                    Column("c0", SqlType.TEXT),
                    Column("c1", SqlType.INT),
                    Column("c2", SqlType.FLOAT),
                ),
                tuple(words * 2),
            ),
            TableData("t1", (Column("c0", SqlType.INT),), ((1,), (2,))),
        ),
    )
    source = _Fixed([duck, lite], database)
    oracle = Differential(duck, lite, timeout=5)
    source.use(database)
    tree = sqlglot.parse_one(
        'SELECT t1."c0" AS c0, t1."c1" + 1 AS c1 FROM t0 AS t1 '
        'WHERE (t1."c0" LIKE \'a%\' OR t1."c1" > 100) AND NOT (NOT (t1."c1" IS NOT NULL))'
    )
    check = check_tree(oracle, tree, seed=0, index=0)
    assert check.kind is Kind.ROW_COUNT
    finding = make_finding(check, 0, 0, [])
    reduced = reduce_finding(oracle, finding, source=source)
    assert reduced.reduced and reduced.original_rows == 12
    assert reduced.database is not None and reduced.database.rows <= 2
    assert [t.name for t in reduced.database.tables] == ["t0"]  # t1 is not read
    scripts = reduced.scripts()
    assert set(scripts) == {"sut", "ref"}
    text = scripts["ref"]
    assert "-- sut: 0 rows" in text and "-- ref: 1 row" in text
    conn = sqlite3.connect(":memory:")
    *setup, query = [s for s in text.split(";\n") if s.strip() and not s.startswith("--")]
    conn.executescript(";\n".join(setup) + ";")
    assert len(conn.execute(query).fetchall()) == 1


# --- PostgreSQL: generated databases in a schema of the engine's own ---------------------------


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_duckdb_and_postgresql_agree_on_most_generated_queries(pg: PostgresClient) -> None:
    """A differential run, DuckDB in memory against a real PostgreSQL, on generated
    databases: every database loads into both, and most answers match (the rest are the
    engines' differences of meaning: integer overflow, division, NaN ordering...)."""
    with DuckDBClient(worker.MEMORY) as duck:
        source = GeneratedQueries([duck, pg], seed=7, settings=DatabaseSettings(queries=25))
        stats = run(
            Differential(duck, pg, timeout=5), source, budget_queries=300, budget_seconds=None
        )
    assert stats.queries == 300 and source.loads == 12
    assert stats.refused_databases == 0, stats.refusals
    assert stats.matches >= 0.7 * stats.queries, stats.summary()
    assert stats.reference_ok >= 0.7 * stats.queries, stats.summary()


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_the_plan_oracle_on_postgresql_plans_generated_databases(pg: PostgresClient) -> None:
    """The plan oracle's connections (planning under enable_* switches) search the engine's
    schema: they see each database the engine loads."""
    source = GeneratedQueries([pg], seed=8, settings=DatabaseSettings(queries=20))
    with Plan(pg, conninfo=pg.loaded_conninfo(), timeout=5) as oracle:
        stats = run(oracle, source, budget_queries=100, budget_seconds=None)
    assert stats.queries == 100 and stats.refused_databases == 0, stats.refusals
    assert stats.matches >= 0.9 * stats.queries, stats.summary()
    assert stats.kinds[Kind.ERROR] == 0, stats.summary()  # no side missing the tables
