"""querygen/engine/engines.py and worker.py against real SQLite and DuckDB files holding
datagen's querygen dataset, a worker process of the same interpreter, and (PostgreSQL pass,
``--db=postgresql``) a real PostgreSQL server."""

from __future__ import annotations

import ast
import datetime
import decimal
import json
import math
import sqlite3
import sys
import uuid
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

import dbkinds
from querygen.engine import worker
from querygen.engine.engines import (
    SCHEMA_PREFIX,
    CatalogColumn,
    DuckDBClient,
    EngineClient,
    EngineError,
    IsolatedClient,
    PostgresClient,
    SQLiteClient,
)
from querygen.engine.model import Outcome, SqlType, Status
from tests.querygen.conftest import PG_ONLY, QUERYGEN_TABLES, table

HOOKS = {worker.HOOKS_ENV: "1"}
KINDS = [
    "sqlite",
    "duckdb",
    "isolated-sqlite",
    "isolated-duckdb",
    pytest.param("postgres", marks=PG_ONLY),
]
# Never finishes: interrupting it is the only way out.
FOREVER = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r"
# Streams an endless (or 10-billion-row) result: loading it all would never end.
HUGE = {
    "sqlite": "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r",
    "duckdb": "SELECT * FROM range(10000000000)",
    "postgres": "SELECT generate_series(1, 10000000000)",
}


def make_engine(kind: str, request: pytest.FixtureRequest, **isolated: Any) -> EngineClient:
    if kind == "postgres":
        return PostgresClient(request.getfixturevalue("querygen_pg"))
    embedded = kind.removeprefix("isolated-")
    path = request.getfixturevalue(f"querygen_{embedded}")
    if kind.startswith("isolated-"):
        return IsolatedClient(sys.executable, embedded, path, **isolated)  # type: ignore[arg-type]
    return SQLiteClient(path) if kind == "sqlite" else DuckDBClient(path)


@pytest.fixture(scope="module", params=KINDS)
def engine(request: pytest.FixtureRequest) -> Iterator[EngineClient]:
    with make_engine(request.param, request) as e:
        yield e


@pytest.fixture
def isolated_duckdb(querygen_duckdb: Path) -> Iterator[IsolatedClient]:
    with IsolatedClient(sys.executable, "duckdb", querygen_duckdb, grace=1.0, env=HOOKS) as e:
        yield e


def ok(outcome: Outcome) -> Outcome:
    assert outcome.status == Status.OK, outcome.error
    return outcome


# --- every engine ---------------------------------------------------------------------------------


def test_version_names_the_engine(engine: EngineClient) -> None:
    expected = {"sqlite": "SQLite 3.", "duckdb": "DuckDB v", "postgres": "PostgreSQL "}
    assert engine.version().startswith(expected[engine.dialect])


def test_tables_map_the_querygen_dataset_and_skip_the_ledger(engine: EngineClient) -> None:
    assert engine.tables() == QUERYGEN_TABLES
    assert "assay_loaded_chunks" not in {c.table for c in engine.catalog()}


def test_a_query_answers_columns_and_rows(engine: EngineClient) -> None:
    outcome = ok(engine.execute("SELECT count(*) AS n, min(id) AS lo FROM facts"))
    assert outcome.columns == ["n", "lo"]
    assert outcome.rows == [(12000, 0)]
    assert outcome.seconds >= 0


def test_a_sql_error_is_an_error_with_the_engines_message(engine: EngineClient) -> None:
    outcome = engine.execute("SELECT no_such_column FROM numbers")
    assert outcome.status == Status.ERROR
    assert "no_such_column" in outcome.error
    assert ok(engine.execute("SELECT 1 AS one")).rows == [(1,)]


def test_a_query_past_the_timeout_is_interrupted_and_the_engine_answers_the_next(
    engine: EngineClient,
) -> None:
    pid = getattr(engine, "pid", None)
    outcome = engine.execute(FOREVER, timeout=0.5)
    assert outcome.status == Status.TIMEOUT, outcome
    assert ok(engine.execute("SELECT count(*) FROM times")).rows == [(2000,)]
    assert getattr(engine, "pid", None) == pid  # an isolated worker interrupts itself


def test_more_rows_than_max_rows_is_too_big(engine: EngineClient) -> None:
    assert len(ok(engine.execute("SELECT * FROM times", max_rows=2000)).rows) == 2000
    outcome = engine.execute("SELECT * FROM times", max_rows=1999)
    assert outcome.status == Status.TOO_BIG
    assert outcome.columns == ["id", "d", "ts"]
    assert outcome.rows == []


def test_a_huge_result_is_abandoned_not_loaded(engine: EngineClient) -> None:
    # Fetching it all would only end at the timeout; fetchmany stops after 11 rows.
    outcome = engine.execute(HUGE[engine.dialect], timeout=60, max_rows=10)
    assert outcome.status == Status.TOO_BIG, outcome
    assert ok(engine.execute("SELECT 2 AS two")).rows == [(2,)]


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO empty (id, name, value) VALUES (1, 'x', 0.5)",
        "DELETE FROM times",
        "CREATE TABLE intruder (a INTEGER)",
        "DROP TABLE strings",
    ],
)
def test_the_database_is_read_only(engine: EngineClient, statement: str) -> None:
    outcome = engine.execute(statement)
    assert outcome.status == Status.ERROR
    assert ok(engine.execute("SELECT count(*) FROM empty")).rows == [(0,)]
    assert ok(engine.execute("SELECT count(*) FROM times")).rows == [(2000,)]
    assert [t.name for t in engine.tables()] == [t.name for t in QUERYGEN_TABLES]


def test_bad_limits_are_refused(engine: EngineClient) -> None:
    with pytest.raises(ValueError, match="timeout"):
        engine.execute("SELECT 1", timeout=0)
    with pytest.raises(ValueError, match="max_rows"):
        engine.execute("SELECT 1", max_rows=-1)


# --- embedded engines -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_a_missing_file_is_an_engine_error_and_is_not_created(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"missing.{kind}"
    cls = SQLiteClient if kind == "sqlite" else DuckDBClient
    with pytest.raises(EngineError, match="cannot open"):
        cls(path)
    assert not path.exists()


def test_sqlite_cannot_be_switched_back_to_writable(querygen_sqlite: Path) -> None:
    with SQLiteClient(querygen_sqlite) as engine:
        engine.execute("PRAGMA query_only = OFF")
        assert engine.execute("DELETE FROM times").status == Status.ERROR  # mode=ro still holds
        assert ok(engine.execute("SELECT count(*) FROM times")).rows == [(2000,)]


def corrupt_sqlite(path: Path) -> None:
    """A SQLite file whose table pages are overwritten with garbage (page 1 intact)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 100) for i in range(5000)])
    conn.commit()
    conn.close()
    pages = path.stat().st_size // 4096
    with path.open("r+b") as f:
        f.seek((pages - 5) * 4096)  # a leaf near the end: the first rows still read fine
        f.write(b"\xff" * 64)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*), sum(length(s)) FROM t",
        "SELECT id, s FROM t",  # the damage shows halfway through fetching
    ],
)
def test_a_corrupt_sqlite_file_is_a_crash_and_the_engine_reopens(
    tmp_path: Path, query: str
) -> None:
    path = tmp_path / "corrupt.sqlite"
    corrupt_sqlite(path)
    with SQLiteClient(path) as engine:
        outcome = engine.execute(query)
        assert outcome.status == Status.CRASH
        assert "malformed" in outcome.error
        assert ok(engine.execute("SELECT 1")).rows == [(1,)]


def test_duckdb_internal_and_fatal_errors_are_crashes() -> None:
    # No query of DuckDB 2.0.0 was found that still raises an INTERNAL Error (every fuzzer
    # reproducer tried is fixed), so the classification is shown on the real exception types.
    internal = duckdb.InternalException("INTERNAL Error: Attempted to access index 0")
    fatal = duckdb.FatalException("FATAL Error: database has been invalidated")
    assert worker.error_status("duckdb", internal) == Status.CRASH
    assert worker.error_status("duckdb", fatal) == Status.CRASH
    conn = duckdb.connect()
    for query in ("SELEC 1", "SELECT 1 / 'x'::INTEGER", "SELECT error('mine')"):
        with pytest.raises(duckdb.Error) as raised:
            conn.execute(query)
        assert worker.error_status("duckdb", raised.value) == Status.ERROR, query


# Which engine type is which family is a fact of the kind (tests/dbkinds); querygen's part is
# that every family is a SqlType, and types of no family are left out.
@pytest.mark.parametrize(
    ("kind", "engine_type", "expected"),
    [
        ("sqlite", "UNSIGNED BIG INT", SqlType.INT),
        ("sqlite", "NUMERIC(18,4)", SqlType.DECIMAL),
        ("sqlite", "BLOB", None),
        ("duckdb", "DECIMAL(18,4)", SqlType.DECIMAL),
        ("duckdb", "TIMESTAMP_NS", None),
        ("postgresql", "timestamp without time zone", SqlType.TIMESTAMP),
        ("postgresql", "json", None),
    ],
)
def test_engine_types_as_sql_types(kind: str, engine_type: str, expected: SqlType | None) -> None:
    assert worker.sql_type(kind, engine_type) == expected


def test_every_type_family_is_a_sql_type() -> None:
    assert {SqlType(family) for family in dbkinds.base.FAMILIES} == set(SqlType)


def test_columns_of_other_types_are_left_out_of_tables(tmp_path: Path) -> None:
    sqlite_path, duckdb_path = tmp_path / "odd.sqlite", tmp_path / "odd.duckdb"
    conn = sqlite3.connect(sqlite_path)
    conn.execute("CREATE TABLE odd (id INTEGER, raw BLOB, untyped, doc JSON, at DATETIME)")
    conn.execute("CREATE TABLE only_blobs (raw BLOB)")
    conn.commit()
    conn.close()
    duck = duckdb.connect(str(duckdb_path))
    duck.execute(
        "CREATE TABLE odd (id UTINYINT, raw BLOB, span INTERVAL, tz TIMESTAMPTZ, n HUGEINT)"
    )
    duck.execute("CREATE VIEW a_view AS SELECT 1 AS x")
    duck.close()
    with SQLiteClient(sqlite_path) as sqlite_engine, DuckDBClient(duckdb_path) as duck_engine:
        assert sqlite_engine.tables() == [table("odd", "id:int at:timestamp")]
        assert CatalogColumn("odd", "untyped", "", None) in sqlite_engine.catalog()
        assert duck_engine.tables() == [table("odd", "id:int n:int")]
        assert CatalogColumn("odd", "span", "INTERVAL", None) in duck_engine.catalog()


# --- the isolated engine --------------------------------------------------------------------------


def test_the_isolated_engine_reports_the_other_interpreters_duckdb(
    isolated_duckdb: IsolatedClient, querygen_duckdb: Path
) -> None:
    with DuckDBClient(querygen_duckdb) as local:
        assert isolated_duckdb.version() == local.version()
    assert f"v{duckdb.__version__}" in isolated_duckdb.version()
    assert isolated_duckdb.pid is not None


# Every type the wire tags, and the querygen columns: the same answer in both processes.
SAME_ANSWERS = [
    "SELECT * FROM numbers ORDER BY id",
    "SELECT * FROM times ORDER BY id",
    "SELECT * FROM strings ORDER BY id",
    "SELECT f64, f32 FROM numbers WHERE isnan(f64) OR isinf(f64) OR isinf(f32) ORDER BY id",
    "SELECT 'nan'::DOUBLE, 'inf'::DOUBLE, '-inf'::FLOAT, -0.0::DOUBLE, NULL",
    "SELECT 1.5::DECIMAL(38,10), 170141183460469231731687303715884105727::HUGEINT",
    "SELECT '\\x00ab'::BLOB, 'a' || chr(0) || 'b', '日本 \"q\" \\n', TRUE",
    "SELECT DATE '0001-01-01', TIMESTAMP '9999-12-31 23:59:59.999999', TIME '12:34:56.5'",
    "SELECT INTERVAL 3 DAY + INTERVAL 5 SECOND, '7f1c3e6e-1b5a-4bd5-9f0e-2a8a6c6a2f11'::UUID",
    "SELECT [1, NULL, 3], {'a': 1.5::DECIMAL(3,1), '$': [DATE '2020-02-29']}, "
    "MAP([1, 2], ['x', 'y'])",
    "SELECT amount, count(*) FROM numbers GROUP BY amount ORDER BY amount NULLS FIRST LIMIT 50",
    "SELECT no_such_column FROM numbers",
]


def same(a: Any, b: Any) -> bool:
    """Equal, of the same type, NaN equal to NaN, -0.0 apart from 0.0, decimals to the scale."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)  # the scale too; and NaN is NaN
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("kind", ["duckdb", "sqlite"])
def test_the_isolated_engine_answers_like_the_in_process_one(
    kind: str, request: pytest.FixtureRequest
) -> None:
    queries = (
        SAME_ANSWERS
        if kind == "duckdb"
        else SAME_ANSWERS[:3]
        + [
            "SELECT 1.5, x'00ff', 9223372036854775807, -0.0, 1e308 * 10, NULL",
            "SELECT no_such_column FROM numbers",
        ]
    )
    with make_engine(kind, request) as local, make_engine(f"isolated-{kind}", request) as isolated:
        assert isolated.catalog() == local.catalog()
        for query in queries:
            mine, theirs = local.execute(query), isolated.execute(query)
            assert mine.status == theirs.status, (query, mine.error, theirs.error)
            assert mine.columns == theirs.columns
            assert mine.error == theirs.error
            assert len(mine.rows) == len(theirs.rows) and same(mine.rows, theirs.rows), query
        assert isolated.execute("SELECT 1", max_rows=0).status == Status.TOO_BIG


def test_values_survive_the_wire() -> None:
    values = [
        None,
        True,
        -(2**127),
        '日本\x00\n"',
        1.5,
        float("nan"),
        float("inf"),
        -float("inf"),
        -0.0,
        decimal.Decimal("-12.3400"),
        decimal.Decimal("NaN"),
        datetime.date(1, 1, 1),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999),
        datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
        datetime.time(12, 34, 56, 500000),
        datetime.timedelta(days=-3, seconds=5, microseconds=7),
        b"\x00\xff",
        uuid.UUID("7f1c3e6e-1b5a-4bd5-9f0e-2a8a6c6a2f11"),
        [1, [decimal.Decimal("1.0")], None],
        (1, "a"),
        {"$": 1, "v": [datetime.date(2020, 2, 29)], 3: "x"},
    ]
    line = json.dumps([worker.encode_value(v) for v in values], allow_nan=False)
    back = [worker.decode_value(v) for v in json.loads(line)]
    assert same(back, values)


def test_a_worker_that_aborts_is_a_crash_and_restarts(isolated_duckdb: IsolatedClient) -> None:
    first = isolated_duckdb.pid
    outcome = isolated_duckdb.send_test_hook("crash", how="abort")
    assert outcome.status == Status.CRASH
    assert "SIGABRT" in outcome.error
    assert ok(isolated_duckdb.execute("SELECT count(*) FROM strings")).rows == [(4000,)]
    assert isolated_duckdb.restarts == 1
    assert isolated_duckdb.pid not in (None, first)


def test_a_worker_that_exits_is_a_crash_with_its_exit_code(
    isolated_duckdb: IsolatedClient,
) -> None:
    outcome = isolated_duckdb.send_test_hook("crash", how="exit", code=7)
    assert outcome.status == Status.CRASH
    assert "exit code 7" in outcome.error
    assert ok(isolated_duckdb.execute("SELECT 7")).rows == [(7,)]


def test_a_hung_worker_is_killed_reported_as_timeout_and_restarted(
    isolated_duckdb: IsolatedClient,
) -> None:
    first = isolated_duckdb.pid
    outcome = isolated_duckdb.send_test_hook("hang", timeout=0.2)
    assert outcome.status == Status.TIMEOUT
    assert "killed" in outcome.error
    assert ok(isolated_duckdb.execute("SELECT 8")).rows == [(8,)]
    assert isolated_duckdb.restarts == 1
    assert isolated_duckdb.pid != first


def test_test_hooks_are_refused_without_the_environment_variable(querygen_sqlite: Path) -> None:
    with IsolatedClient(sys.executable, "sqlite", querygen_sqlite) as engine:
        outcome = engine.send_test_hook("crash", how="exit", code=9)
        assert outcome.status == Status.ERROR
        assert "unknown op" in outcome.error
        assert engine.restarts == 0
        assert ok(engine.execute("SELECT 9")).rows == [(9,)]


def test_the_worker_runs_in_an_interpreter_without_this_projects_packages(
    querygen_sqlite: Path, querygen_duckdb: Path, tmp_path: Path
) -> None:
    # A virtualenv with nothing installed: no Django, no DuckDB, no psycopg.
    venv.create(tmp_path / "bare", with_pip=False)
    python = tmp_path / "bare" / "bin" / "python"
    query = "SELECT * FROM numbers ORDER BY id"
    bare = IsolatedClient(python, "sqlite", querygen_sqlite)
    with bare, SQLiteClient(querygen_sqlite) as local:
        assert bare.catalog() == local.catalog()
        assert same(ok(bare.execute(query)).rows, ok(local.execute(query)).rows)
    with pytest.raises(EngineError, match="No module named 'duckdb'"):
        IsolatedClient(python, "duckdb", querygen_duckdb)


def test_a_worker_that_cannot_open_the_database_is_an_engine_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="did not start"):
        IsolatedClient(sys.executable, "duckdb", tmp_path / "missing.duckdb")
    assert not (tmp_path / "missing.duckdb").exists()


def test_a_missing_interpreter_is_an_engine_error(querygen_sqlite: Path, tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="cannot start"):
        IsolatedClient(tmp_path / "no-python", "sqlite", querygen_sqlite)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_the_worker_needs_only_the_standard_library_its_driver_and_model() -> None:
    package = Path(worker.__file__).parent
    kinds = Path(dbkinds.__file__).parent
    allowed = set(sys.stdlib_module_names) | {"__future__", "duckdb"}
    dbkinds_modules = {"dbkinds", "dbkinds.base"}
    for path, own in [
        (package / "worker.py", {"querygen.engine.model", *dbkinds_modules}),
        (package / "model.py", set()),
        (package / "__init__.py", set()),
        (package.parent / "__init__.py", set()),
        # What the worker imports of dbkinds (the kind modules it serves, and their base).
        (kinds / "__init__.py", {"dbkinds.base"}),
        (kinds / "base.py", set()),
        (kinds / "sqlite.py", dbkinds_modules),
        (kinds / "duckdb.py", dbkinds_modules),
    ]:
        for name in _imports(path):
            assert name in own or name.split(".")[0] in allowed, f"{path.name} imports {name}"


# --- PostgreSQL -----------------------------------------------------------------------------------


def test_a_password_never_shows(tmp_path: Path) -> None:
    # Nothing listens on port 1: the connection fails, and the message must not carry it.
    conninfo = make_conninfo(host="127.0.0.1", port=1, dbname="x", user="u", password="s3cr3t-pw")
    with pytest.raises(EngineError) as raised:
        PostgresClient(conninfo)
    assert "s3cr3t-pw" not in str(raised.value)
    assert raised.value.__suppress_context__  # the driver's exception is not printed along
    with pytest.raises(EngineError) as bad:
        PostgresClient("host=x password=s3cr3t-pw dbname")
    assert "s3cr3t-pw" not in str(bad.value)


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_never_shows_the_password(querygen_pg: str) -> None:
    # Trust auth ignores the password, so the engine really connects with it.
    conninfo = make_conninfo(querygen_pg, password="s3cr3t-pw")
    with PostgresClient(conninfo) as engine:
        outcome = engine.execute("SELECT current_setting('application_name'), 's3cr3t-pw'::int")
        shown = [repr(engine), engine.name, engine.described, engine.version(), outcome.error]
        assert outcome.status == Status.ERROR
        assert not any("s3cr3t-pw" in text for text in shown), shown
        assert "***" in outcome.error


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_internal_errors_are_crashes(pg: PostgresClient) -> None:
    outcome = pg.execute(
        "DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = 'internal_error'; END $$"
    )
    assert outcome.status == Status.CRASH
    assert outcome.error.startswith("XX000") and "boom" in outcome.error
    corrupted = pg.execute("DO $$ BEGIN RAISE EXCEPTION 'bad page' USING ERRCODE = 'XX001'; END $$")
    assert corrupted.status == Status.CRASH
    assert ok(pg.execute("SELECT 1")).rows == [(1,)]


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_a_lost_connection_is_a_crash_and_the_next_query_reconnects(
    pg: PostgresClient,
) -> None:
    outcome = pg.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    assert outcome.status == Status.CRASH
    assert "connection lost" in outcome.error
    assert ok(pg.execute("SELECT count(*) FROM times")).rows == [(2000,)]


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_a_query_cannot_make_the_session_writable(pg: PostgresClient) -> None:
    # Each query is its own rolled-back READ ONLY transaction: its SETs do not outlive it.
    assert pg.execute("SET default_transaction_read_only = off").ok
    pg.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
    outcome = pg.execute("DELETE FROM times")
    assert outcome.status == Status.ERROR
    assert "read-only" in outcome.error
    assert pg.execute("BEGIN").ok  # an opened transaction does not leak either
    assert ok(pg.execute("SELECT count(*) FROM times")).rows == [(2000,)]


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_values_and_percent_signs(pg: PostgresClient) -> None:
    outcome = ok(
        pg.execute(
            "SELECT 7 % 3 AS m, 'a%sb' AS s, amount, d, ts FROM numbers, times "
            "WHERE numbers.id = 0 AND times.id = 0"
        )
    )
    assert outcome.columns == ["m", "s", "amount", "d", "ts"]
    m, s, amount, d, ts = outcome.rows[0]
    assert (m, s) == (1, "a%sb")
    assert isinstance(amount, decimal.Decimal)
    assert type(d) is datetime.date and type(ts) is datetime.datetime
    empty = ok(pg.execute("SELECT id, name FROM empty"))
    assert empty.columns == ["id", "name"] and empty.rows == []
    several = pg.execute("SELECT 1; SELECT 2")
    assert several.status == Status.ERROR


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_tables_in_other_schemas_and_of_other_types(querygen_pg: str) -> None:
    schema = "qg_odd"
    with psycopg.connect(querygen_pg, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.execute(f"CREATE SCHEMA {schema}")
        admin.execute(
            f'CREATE TABLE {schema}."Odd" (id int, tz timestamptz, raw bytea, n numeric(5, 2), '
            "c char(3), v varchar(9), r real)"
        )
    conninfo = make_conninfo(querygen_pg, options=f"-c search_path={schema}")
    with PostgresClient(conninfo) as engine:
        assert engine.tables() == [table("Odd", "id:int n:decimal c:text v:text r:float")]
        assert ok(engine.execute('SELECT count(*) FROM "Odd"')).rows == [(0,)]


def test_duckdb_interrupts_a_short_timeout_after_a_long_one(querygen_duckdb: Path) -> None:
    # One watchdog thread per session sleeps towards the running query's deadline: a query
    # with an earlier deadline than the last one's must wake it.
    with DuckDBClient(querygen_duckdb) as duck:
        ok(duck.execute("SELECT count(*) FROM facts", timeout=30))
        outcome = duck.execute(FOREVER, timeout=0.3)
        assert outcome.status == Status.TIMEOUT, outcome
        assert outcome.seconds < 5
        for _ in range(3):  # and never the next query
            assert ok(duck.execute("SELECT count(*) FROM times", timeout=0.3)).rows == [(2000,)]


def test_a_private_build_sees_none_of_this_process_secrets(
    querygen_sqlite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interpreter a run names is someone else's code: it starts with a minimal
    environment. Here a wrapper records what it got, then runs this interpreter."""
    monkeypatch.setenv("ASSAY_TEST_SECRET", "hunter2")
    monkeypatch.setenv("LC_TEST_LOCALE", "kept")
    seen = tmp_path / "env.txt"
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\nenv > "{seen}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    with IsolatedClient(wrapper, "sqlite", querygen_sqlite, env={"EXTRA": "1"}) as engine:
        assert engine.execute("SELECT 1", timeout=5).rows == [(1,)]
    names = {line.split("=", 1)[0] for line in seen.read_text().splitlines() if "=" in line}
    assert "ASSAY_TEST_SECRET" not in names
    assert {"PATH", "PYTHONPATH", "EXTRA", "LC_TEST_LOCALE"} <= names


# --- databases of querygen's own, in memory -------------------------------------------------------

MEMORY_KINDS = ["sqlite", "duckdb", "isolated-sqlite", "isolated-duckdb"]
# And PostgreSQL, in a schema of its own on the querygen database.
LOADING_KINDS = [*MEMORY_KINDS, pytest.param("postgres", marks=PG_ONLY)]
SETUP = [
    'CREATE TABLE "t0" ("c0" INTEGER, "c1" VARCHAR)',
    "INSERT INTO \"t0\" VALUES (1, 'a'), (NULL, 'b')",
    'CREATE VIEW "v0" AS SELECT "c1" FROM "t0" WHERE "c0" IS NOT NULL',
]


def memory_engine(
    kind: str, request: pytest.FixtureRequest | None = None, **isolated: Any
) -> EngineClient:
    if kind == "postgres":
        assert request is not None
        return PostgresClient(request.getfixturevalue("querygen_pg"))
    embedded = kind.removeprefix("isolated-")
    if kind.startswith("isolated-"):
        return IsolatedClient(sys.executable, embedded, worker.MEMORY, **isolated)  # type: ignore[arg-type]
    return (SQLiteClient if embedded == "sqlite" else DuckDBClient)(worker.MEMORY)


@pytest.mark.parametrize("kind", LOADING_KINDS)
def test_a_memory_engine_holds_what_load_made_and_nothing_else(
    kind: str, request: pytest.FixtureRequest
) -> None:
    with memory_engine(kind, request) as engine:
        assert engine.execute('SELECT * FROM "t0"').status == Status.ERROR  # empty at first
        ok(engine.load(SETUP))
        assert sorted(ok(engine.execute('SELECT * FROM "t0"')).rows, key=repr) == [
            (1, "a"),
            (None, "b"),
        ]
        assert ok(engine.execute('SELECT * FROM "v0"')).rows == [("a",)]
        # Dropping what the last load made, or (no drop) a new database: either way only the
        # new tables are there.
        for drop in (['DROP VIEW "v0"', 'DROP TABLE "t0"'], None):
            ok(engine.load(['CREATE TABLE "t1" ("c0" INTEGER)'], drop=drop))
            assert engine.execute('SELECT * FROM "t0"').status == Status.ERROR
            assert [c.table for c in engine.catalog()] == ["t1"]
            ok(engine.load(SETUP, drop=['DROP TABLE "t1"']))


@pytest.mark.parametrize("kind", MEMORY_KINDS)
def test_a_refused_load_names_the_statement_and_leaves_the_database_empty(kind: str) -> None:
    with memory_engine(kind) as engine:
        ok(engine.load(SETUP))
        outcome = engine.load([SETUP[0], "INSERT INTO nowhere VALUES (1)", SETUP[1]])
        assert outcome.status == Status.ERROR
        assert outcome.error.startswith("statement 2 of 3: ")
        assert engine.catalog() == []
        # A drop that fails (nothing to drop) falls back to a new database.
        ok(engine.load(SETUP, drop=['DROP TABLE "gone"']))
        assert len(ok(engine.execute('SELECT * FROM "t0"')).rows) == 2


def test_a_file_engine_cannot_load(querygen_duckdb: Path) -> None:
    with DuckDBClient(querygen_duckdb) as engine:
        outcome = engine.load(SETUP)
    assert outcome.status == Status.ERROR and "load needs location :memory:" in outcome.error


# --- PostgreSQL: generated databases in a schema of the engine's own -----------------------


def _schemas(conninfo: str) -> dict[str, str | None]:
    """The querygen engines' schemas on the server, with their comments."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT nspname, obj_description(oid, 'pg_namespace') FROM pg_namespace "
            r"WHERE nspname LIKE 'assay\_qg\_%'"
        ).fetchall()
    return dict(rows)


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_loads_into_a_schema_of_its_own_and_drops_it_on_close(querygen_pg: str) -> None:
    with PostgresClient(querygen_pg) as engine, PostgresClient(querygen_pg) as other:
        assert engine.schema.startswith(SCHEMA_PREFIX) and engine.schema != other.schema
        assert engine.schema not in _schemas(querygen_pg)  # made by the first load
        ok(engine.load(SETUP))
        ok(other.load(['CREATE TABLE "t0" ("c0" TEXT)', "INSERT INTO \"t0\" VALUES ('other')"]))
        comment = _schemas(querygen_pg)[engine.schema]
        assert comment is not None and comment.startswith("assay querygen")
        # Each engine sees its own database alone: not the other's, not the dataset's tables.
        assert ok(engine.execute('SELECT "c1" FROM "v0"')).rows == [("a",)]
        assert ok(other.execute('SELECT * FROM "t0"')).rows == [("other",)]
        assert engine.execute("SELECT count(*) FROM times").status == Status.ERROR
        assert engine.tables() == [table("t0", "c0:int c1:text")]
        # Queries stay READ ONLY transactions.
        refused = engine.execute('DELETE FROM "t0"')
        assert refused.status == Status.ERROR and "read-only" in refused.error
        assert engine.execute(f"CREATE TABLE {engine.schema}.x (a int)").status == Status.ERROR
        assert len(ok(engine.execute('SELECT * FROM "t0"')).rows) == 2
    assert not {engine.schema, other.schema} & set(_schemas(querygen_pg))


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_a_refused_load_names_the_statement_and_changes_nothing(
    querygen_pg: str,
) -> None:
    conninfo = make_conninfo(querygen_pg, password="s3cr3t-pw")  # trust auth ignores it
    with PostgresClient(conninfo) as engine:
        ok(engine.load(SETUP))
        outcome = engine.load([SETUP[0], "INSERT INTO nowhere VALUES (1)", SETUP[1]])
        assert outcome.status == Status.ERROR
        assert outcome.error.startswith("statement 2 of 3: 42P01: ")
        # All or none: the last database is still there, whole.
        assert len(ok(engine.execute('SELECT * FROM "t0"')).rows) == 2
        secret = engine.load(["SELECT 's3cr3t-pw'::int"])
        assert secret.status == Status.ERROR and "s3cr3t-pw" not in secret.error
        slow = engine.load([SETUP[0], "SELECT pg_sleep(5)"], timeout=0.2)
        assert slow.status == Status.TIMEOUT and slow.error.startswith("statement 2 of 2: ")
        assert ok(engine.execute('SELECT "c1" FROM "v0"')).rows == [("a",)]


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_a_reconnection_searches_the_loaded_schema(querygen_pg: str) -> None:
    with PostgresClient(querygen_pg) as engine:
        ok(engine.load(SETUP))
        lost = engine.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        assert lost.status == Status.CRASH
        assert len(ok(engine.execute('SELECT * FROM "t0"')).rows) == 2
        assert [(c.table, c.column) for c in engine.catalog()] == [("t0", "c0"), ("t0", "c1")]
        # A connection from loaded_conninfo (the plan oracle's) sees the same database.
        with PostgresClient(engine.loaded_conninfo()) as planned:
            assert len(ok(planned.execute('SELECT * FROM "t0"')).rows) == 2


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_without_create_on_the_database_a_load_says_what_to_grant(
    querygen_pg: str,
) -> None:
    role = f"qg_nocreate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(querygen_pg, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")  # PUBLIC has no CREATE on databases
    try:
        with PostgresClient(make_conninfo(querygen_pg, user=role)) as engine:
            outcome = engine.load(SETUP)
            assert outcome.status == Status.ERROR
            assert "permission denied" in outcome.error
            dbname = psycopg.conninfo.conninfo_to_dict(querygen_pg)["dbname"]
            assert f"GRANT CREATE ON DATABASE {dbname} TO {role}" in outcome.error
            assert '{"data": "dataset"}' in outcome.error and "\n" not in outcome.error
            assert ok(engine.execute("SELECT 1")).rows == [(1,)]  # still usable
    finally:
        with psycopg.connect(querygen_pg, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}")


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_a_crashed_runs_schema_goes_once_a_day_old(querygen_pg: str) -> None:
    """A schema whose last load was more than a day ago is a dead run's: the next engine to
    load drops it. A fresh one, or one without the engines' comment, stays."""
    stale, fresh, foreign = (f"{SCHEMA_PREFIX}{name}" for name in ("stale", "fresh", "foreign"))
    now = datetime.datetime.now(datetime.UTC)
    with psycopg.connect(querygen_pg, autocommit=True) as admin:
        for name, loaded in ((stale, now - datetime.timedelta(days=2)), (fresh, now)):
            admin.execute(f"CREATE SCHEMA {name}")
            admin.execute(f'CREATE TABLE {name}."t0" (c0 int)')
            admin.execute(
                f"COMMENT ON SCHEMA {name} IS "
                f"'assay querygen: generated databases, last loaded {loaded.isoformat()}'"
            )
        admin.execute(f"CREATE SCHEMA {foreign}")
    try:
        with PostgresClient(querygen_pg) as engine:
            ok(engine.load(SETUP))
            left = set(_schemas(querygen_pg))
            assert stale not in left and {fresh, foreign, engine.schema} <= left
    finally:
        with psycopg.connect(querygen_pg, autocommit=True) as admin:
            for name in (stale, fresh, foreign):
                admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def test_a_worker_that_crashed_comes_back_with_the_loaded_database() -> None:
    with memory_engine("isolated-duckdb", grace=1.0, env=HOOKS) as engine:
        ok(engine.load(SETUP))
        assert engine.send_test_hook("crash", how="abort").status == Status.CRASH
        assert len(ok(engine.execute('SELECT * FROM "t0"')).rows) == 2
        assert engine.restarts == 1
