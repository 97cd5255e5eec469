"""datagen/generator/loaders.py against real SQLite and DuckDB files and a real PostgreSQL.

PostgreSQL cases carry ``db_dependent`` and run under ``--db=postgresql`` on the server of
tests/postgres_plugin.py, in a database of their own (one schema per test). The plain SQLite
pass leaves them out (marker postgresql_only); the PostgreSQL pass runs only them.
"""

from __future__ import annotations

import datetime
import math
import os
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from datagen.generator import loaders
from datagen.generator.loaders import (
    ConnectionFailed,
    InvalidIdentifier,
    LoaderError,
    LoadFailed,
    SchemaMismatch,
    TableExists,
    Target,
    UnsupportedType,
)

PG_ONLY = [pytest.mark.db_dependent, pytest.mark.postgresql_only]
FILE_ENGINES = ["sqlite", "duckdb"]
ALL_ENGINES = [*FILE_ENGINES, pytest.param("postgresql", marks=PG_ONLY)]
TYPED_ENGINES = ["duckdb", pytest.param("postgresql", marks=PG_ONLY)]  # engines that check types

TS = pa.timestamp("us")
NAN = float("nan")
INF = float("inf")


# --- targets ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """Conninfo of a UTF-8 database of our own on the plugin's server, dropped afterwards."""
    proc = request.getfixturevalue("assay_postgresql_proc")
    server = {"host": proc.host, "port": proc.port, "user": proc.user}
    name = f"assay_loaders_{os.getpid()}"
    with psycopg.connect(make_conninfo(**server, dbname="postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            ).format(sql.Identifier(name))
        )
    yield make_conninfo(**server, dbname=name)
    with psycopg.connect(make_conninfo(**server, dbname="postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def make_target(tmp_path: Any, request: pytest.FixtureRequest) -> Callable[..., Target]:
    """make_target(kind, name): a fresh, empty database of that kind."""

    def make(kind: str, name: str = "db") -> Target:
        if kind == "sqlite":
            return Target.sqlite(tmp_path / f"{name}.sqlite")
        if kind == "duckdb":
            return Target.duckdb(tmp_path / f"{name}.duckdb")
        conninfo = request.getfixturevalue("pg_database")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        # The schema is chosen the way an operator would: search_path in the conninfo.
        return Target.postgresql(make_conninfo(conninfo, options=f"-c search_path={schema}"))

    return make


@pytest.fixture
def target(kind: str, make_target: Callable[..., Target]) -> Target:
    return make_target(kind)


def native(target: Target, query: str) -> list[tuple[Any, ...]]:
    """Rows straight from the driver, bypassing the module's readers."""
    conn = target.connect()
    try:
        return [tuple(row) for row in conn.execute(query).fetchall()]
    finally:
        conn.close()


# --- data ---------------------------------------------------------------------------------------

STRINGS = [
    "",
    None,
    "plain",
    "tab\there",
    "line\nbreak\r\nand CR",
    "back\\slash \\N \\\\",
    '"quoted", with comma',
    "ünïcödé 漢字 🙂",
    "\\.",
    "NULL",
    "  spaces  ",
    "x" * 5000,
]
F32 = [NAN, INF, -INF, -0.0, 3.4028234663852886e38, 1.401298464324817e-45, 0.1, None]
F64 = [NAN, INF, -INF, -0.0, 1.7976931348623157e308, 5e-324, 0.1, None, 1 / 3]
DATES = [
    datetime.date(1, 1, 1),
    datetime.date(9999, 12, 31),
    datetime.date(1970, 1, 1),
    datetime.date(2024, 2, 29),
    None,
]
TIMESTAMPS = [
    datetime.datetime(1, 1, 1),
    datetime.datetime(9999, 12, 31, 23, 59, 59, 999999),
    datetime.datetime(1970, 1, 1),
    datetime.datetime(2024, 2, 29, 12, 34, 56, 1),
    None,
]
# 15 significant digits: what SQLite's REAL keeps (longer decimals have their own tests).
DECIMALS = [Decimal("99999999999.9999"), Decimal("-99999999999.9999"), Decimal("0.0001"), None]


def _cycle(values: list[Any], n: int) -> list[Any]:
    return [values[i % len(values)] for i in range(n)]


def every_type_table(n: int = 24, *, chunk: int = 1, first_id: int = 0) -> pa.Table:
    """n rows with every supported type and the values that break loaders."""
    return pa.table(
        {
            "id": pa.array(range(first_id, first_id + n), pa.int64()),
            "chunk": pa.array([chunk] * n, pa.int32()),
            "i16": pa.array(_cycle([-(2**15), 2**15 - 1, 0, None], n), pa.int16()),
            "i32": pa.array(_cycle([-(2**31), 2**31 - 1, 0, None, 7], n), pa.int32()),
            "i64": pa.array(_cycle([-(2**63), 2**63 - 1, 0, None, -1], n), pa.int64()),
            "f32": pa.array(_cycle(F32, n), pa.float32()),
            "f64": pa.array(_cycle(F64, n), pa.float64()),
            "dec": pa.array(_cycle(DECIMALS, n), pa.decimal128(15, 4)),
            "s": pa.array(_cycle(STRINGS, n), pa.string()),
            "b": pa.array(_cycle([True, False, None], n), pa.bool_()),
            "d": pa.array(_cycle(DATES, n), pa.date32()),
            "ts": pa.array(_cycle(TIMESTAMPS, n), TS),
        }
    )


def comparable(rows: list[dict[str, Any]], key: str = "id") -> list[dict[str, Any]]:
    """Rows sorted by ``key``, with NaN and -0.0 spelled out (NaN != NaN; -0.0 == 0.0)."""

    def value(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return "NaN"
        if isinstance(v, float) and v == 0.0:
            return "-0.0" if math.copysign(1.0, v) < 0 else "0.0"
        return v

    return sorted(({k: value(v) for k, v in row.items()} for row in rows), key=lambda r: r[key])


def as_sqlite_keeps(rows: list[dict[str, Any]], key: str = "id") -> list[dict[str, Any]]:
    """What SQLite gives back (documented): NaN becomes NULL and -0.0 becomes 0.0."""
    out = []
    for row in comparable(rows, key):
        out.append({k: None if v == "NaN" else "0.0" if v == "-0.0" else v for k, v in row.items()})
    return out


def expected_rows(kind: str, table: pa.Table, key: str = "id") -> list[dict[str, Any]]:
    rows = table.to_pylist()
    return as_sqlite_keeps(rows, key) if kind == "sqlite" else comparable(rows, key)


def load_fresh(target: Target, name: str, table: pa.Table, **kwargs: Any) -> None:
    loaders.create_tables(target, {name: table.schema}, **kwargs)
    loaders.load_table(target, name, table)


# --- the type mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrow_type", "postgresql", "duckdb_type", "sqlite"),
    [
        (pa.int16(), "SMALLINT", "SMALLINT", "SMALLINT"),
        (pa.int32(), "INTEGER", "INTEGER", "INT"),
        (pa.int64(), "BIGINT", "BIGINT", "BIGINT"),
        (pa.float32(), "REAL", "REAL", "FLOAT4"),
        (pa.float64(), "DOUBLE PRECISION", "DOUBLE", "DOUBLE"),
        (pa.decimal128(38, 9), "NUMERIC(38,9)", "DECIMAL(38,9)", "NUMERIC(38,9)"),
        (pa.string(), "TEXT", "VARCHAR", "TEXT"),
        (pa.large_string(), "TEXT", "VARCHAR", "TEXT"),
        (pa.dictionary(pa.int32(), pa.string()), "TEXT", "VARCHAR", "TEXT"),
        (pa.bool_(), "BOOLEAN", "BOOLEAN", "BOOLEAN"),
        (pa.date32(), "DATE", "DATE", "DATE"),
        (TS, "TIMESTAMP", "TIMESTAMP", "TIMESTAMP"),
        (pa.timestamp("ms"), "TIMESTAMP", "TIMESTAMP", "TIMESTAMP"),
    ],
)
def test_type_mapping(arrow_type: pa.DataType, postgresql: str, duckdb_type: str, sqlite: str):
    assert loaders.sql_type("postgresql", arrow_type) == postgresql
    assert loaders.sql_type("duckdb", arrow_type) == duckdb_type
    assert loaders.sql_type("sqlite", arrow_type) == sqlite


@pytest.mark.parametrize(
    "arrow_type",
    [pa.list_(pa.int32()), pa.timestamp("us", tz="UTC"), pa.uint64(), pa.binary(), pa.int8()],
)
def test_unsupported_types_are_refused_before_touching_the_database(
    arrow_type: pa.DataType, tmp_path: Any
):
    target = Target.sqlite(tmp_path / "db.sqlite")
    with pytest.raises(UnsupportedType):
        loaders.create_tables(target, {"t": pa.schema([("c", arrow_type)])})
    with pytest.raises(UnsupportedType):
        loaders.load_table(target, "t", pa.table({"c": pa.array([], arrow_type)}))
    assert not (tmp_path / "db.sqlite").exists()


def test_values_a_cast_would_change_are_refused(tmp_path: Any):
    target = Target.sqlite(tmp_path / "db.sqlite")
    nanos = pa.table({"ts": pa.array([1_000, 1_001], pa.timestamp("ns"))})
    with pytest.raises(LoaderError, match="lose data"):
        loaders.load_table(target, "t", nanos)
    assert not (tmp_path / "db.sqlite").exists()


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_schema_reads_back_as_created(target: Target):
    table = every_type_table()
    loaders.create_tables(target, {"t": table.schema}, primary_keys={"t": ["id"]})
    schema = loaders.table_schema(target, "t")
    assert [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in table.schema]
    assert not schema.field("id").nullable  # primary-key columns are NOT NULL everywhere
    assert schema.field("s").nullable


# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_every_type_round_trips(kind: str, target: Target):
    table = every_type_table(48)
    loaders.create_tables(target, {"t": table.schema}, primary_keys={"t": ["id"]})
    result = loaders.load_table(target, "t", table)
    assert result.rows == 48
    assert result.deleted == 0
    back = loaders.read_table(target, "t")
    assert back.schema.types == table.schema.types
    assert comparable(back.to_pylist()) == expected_rows(kind, table)


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_the_engine_itself_sees_null_apart_from_empty_and_exact_values(target: Target):
    table = every_type_table(48)
    load_fresh(target, "t", table)
    s_values = table.column("s").to_pylist()
    assert native(target, "SELECT count(*) FROM t WHERE s IS NULL") == [(s_values.count(None),)]
    assert native(target, "SELECT count(*) FROM t WHERE s = ''") == [(s_values.count(""),)]
    assert native(target, "SELECT s FROM t WHERE id = 3") == [("tab\there",)]
    assert native(target, "SELECT s FROM t WHERE id = 4") == [("line\nbreak\r\nand CR",)]
    assert native(target, "SELECT s FROM t WHERE id = 5") == [("back\\slash \\N \\\\",)]
    assert native(target, "SELECT s FROM t WHERE id = 7") == [("ünïcödé 漢字 🙂",)]
    assert native(target, "SELECT s FROM t WHERE id = 8") == [("\\.",)]
    assert native(target, "SELECT max(i64), min(i64) FROM t") == [(2**63 - 1, -(2**63))]
    leap_days = table.column("d").to_pylist().count(datetime.date(2024, 2, 29))
    assert native(target, "SELECT count(*) FROM t WHERE d = '2024-02-29'") == [(leap_days,)]
    moment = table.column("ts").to_pylist().count(TIMESTAMPS[3])
    assert native(target, "SELECT count(*) FROM t WHERE ts = '2024-02-29 12:34:56.000001'") == [
        (moment,)
    ]
    trues = table.column("b").to_pylist().count(True)
    assert native(target, "SELECT count(*) FROM t WHERE b") == [(trues,)]
    assert native(target, "SELECT f64 FROM t WHERE id = 1") == [(INF,)]
    assert native(target, "SELECT f64 FROM t WHERE id = 2") == [(-INF,)]


@pytest.mark.parametrize("kind", TYPED_ENGINES)
def test_nan_and_negative_zero_are_kept(target: Target):
    load_fresh(target, "t", every_type_table())
    (nan,) = native(target, "SELECT f64 FROM t WHERE id = 0")[0]
    assert math.isnan(nan)
    (zero,) = native(target, "SELECT f64 FROM t WHERE id = 3")[0]
    assert zero == 0.0 and math.copysign(1.0, zero) == -1.0


@pytest.mark.parametrize("kind", TYPED_ENGINES)
def test_decimal_extremes_round_trip(target: Target):
    big = Decimal("99999999999999999999999999999999999.999")
    table = pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int32()),
            "v": pa.array([big, big.copy_negate(), Decimal("0.001"), None], pa.decimal128(38, 3)),
        }
    )
    load_fresh(target, "t", table)
    assert comparable(loaders.read_table(target, "t").to_pylist()) == comparable(table.to_pylist())


def test_sqlite_storage_is_what_the_docs_say(tmp_path: Any):
    target = Target.sqlite(tmp_path / "db.sqlite")
    table = every_type_table(48)
    loaders.create_tables(target, {"t": table.schema})
    result = loaders.load_table(target, "t", table)
    nans = sum(1 for v in table.column("f32").to_pylist() + table.column("f64").to_pylist()
               if isinstance(v, float) and math.isnan(v))  # fmt: skip
    assert result.nan_as_null == nans > 0
    # NaN is stored as NULL, -0.0 as 0.0, infinities as themselves.
    assert native(target, "SELECT typeof(f64) FROM t WHERE id = 0") == [("null",)]
    (zero,) = native(target, "SELECT f64 FROM t WHERE id = 3")[0]
    assert math.copysign(1.0, zero) == 1.0
    assert native(target, "SELECT f64, typeof(f64) FROM t WHERE id = 1") == [(INF, "real")]
    # Booleans are integers 0/1; dates and timestamps fixed-width ISO text.
    assert native(target, "SELECT b, typeof(b) FROM t WHERE id IN (0, 1) ORDER BY id") == [
        (1, "integer"),
        (0, "integer"),
    ]
    assert native(target, "SELECT d, ts FROM t WHERE id = 0") == [
        ("0001-01-01", "0001-01-01 00:00:00.000000")
    ]
    assert native(target, "SELECT min(ts), max(ts) FROM t") == [
        ("0001-01-01 00:00:00.000000", "9999-12-31 23:59:59.999999")
    ]
    # Decimals get NUMERIC affinity: integers when whole, else REAL with ~15 digits.
    long = pa.table({"v": pa.array([Decimal("12345678901234567890.123")], pa.decimal128(38, 3))})
    load_fresh(target, "long", long)
    (value,) = loaders.read_table(target, "long").column("v").to_pylist()
    assert value != long.column("v")[0].as_py()
    assert value == Decimal("12345678901234567000.000")  # what the nearest double prints as


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_other_arrow_encodings_are_stored_as_the_plain_type(kind: str, target: Target):
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "big": pa.array(["a", "", None], pa.large_string()),
            "cat": pa.array(["x", "y", None]).dictionary_encode(),
            "ms": pa.array([1_000, None, -1_000], pa.timestamp("ms")),
        }
    )
    load_fresh(target, "t", table)
    back = loaders.read_table(target, "t")
    assert back.schema.types == [pa.int64(), pa.string(), pa.string(), TS]
    assert comparable(back.to_pylist()) == comparable(
        [
            {"id": 1, "big": "a", "cat": "x", "ms": datetime.datetime(1970, 1, 1, 0, 0, 1)},
            {"id": 2, "big": "", "cat": "y", "ms": None},
            {"id": 3, "big": None, "cat": None, "ms": datetime.datetime(1969, 12, 31, 23, 59, 59)},
        ]
    )


# --- one transaction per call -------------------------------------------------------------------


def _with_chunk(n: int, chunk: int, first_id: int, *, bad_last: bool = False) -> pa.Table:
    values = [f"v{i}" for i in range(n)]
    if bad_last:
        values[-1] = None
    return pa.table(
        {
            "id": pa.array(range(first_id, first_id + n), pa.int64()),
            "chunk": pa.array([chunk] * n, pa.int32()),
            "v": pa.array(values, pa.string()),
        }
    )


CHUNK_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("chunk", pa.int32(), nullable=False),
        pa.field("v", pa.string(), nullable=False),
    ]
)


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_a_failing_load_leaves_nothing_behind(target: Target):
    loaders.create_tables(target, {"t": CHUNK_SCHEMA}, primary_keys={"t": ["id"]})
    loaders.load_table(target, "t", _with_chunk(10, 1, 0))
    # The NULL is in the last row, after a whole batch has gone to the engine.
    n = loaders.LOAD_BATCH_ROWS + 10
    with pytest.raises(LoadFailed):
        loaders.load_table(target, "t", _with_chunk(n, 2, 100, bad_last=True))
    assert loaders.row_counts(target) == {"t": 10}
    # A failed re-delivery keeps the chunk's previous copy: the DELETE is rolled back too.
    with pytest.raises(LoadFailed):
        loaders.load_table(
            target, "t", _with_chunk(n, 1, 0, bad_last=True), replace_where=("chunk", 1)
        )
    assert native(target, "SELECT count(*), min(id), max(id) FROM t WHERE chunk = 1") == [
        (10, 0, 9)
    ]


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_a_duplicate_key_halfway_leaves_nothing_behind(target: Target):
    loaders.create_tables(target, {"t": CHUNK_SCHEMA}, primary_keys={"t": ["id"]})
    data = _with_chunk(loaders.LOAD_BATCH_ROWS + 10, 1, 0)
    ids = data.column("id").to_pylist()
    ids[-1] = 5
    data = data.set_column(0, "id", pa.array(ids, pa.int64()))
    with pytest.raises(LoadFailed):
        loaders.load_table(target, "t", data)
    assert loaders.row_counts(target) == {"t": 0}


@pytest.mark.parametrize("kind", TYPED_ENGINES)
def test_a_value_out_of_range_halfway_leaves_nothing_behind(target: Target):
    loaders.create_tables(target, {"t": pa.schema([("n", pa.int32())])})
    n = loaders.LOAD_BATCH_ROWS + 10
    values = list(range(n))
    values[-1] = 2**40  # fits the Arrow int64, not the INTEGER column
    with pytest.raises(LoadFailed) as failure:
        loaders.load_table(target, "t", pa.table({"n": pa.array(values, pa.int64())}))
    assert target.kind in str(failure.value)
    assert loaders.row_counts(target) == {"t": 0}


# --- idempotency --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_a_second_delivery_of_a_chunk_changes_nothing(target: Target):
    loaders.create_tables(
        target, {"t": every_type_table().schema}, primary_keys={"t": ["id"]}
    )  # the key makes a duplicate copy an error rather than a silent extra row
    first, second = every_type_table(30, chunk=1), every_type_table(20, chunk=2, first_id=30)
    loaders.load_table(target, "t", first, replace_where=("chunk", 1))
    loaders.load_table(target, "t", second, replace_where=("chunk", 2))
    before = loaders.table_checksum(target, "t")
    again = loaders.load_table(target, "t", first, replace_where=("chunk", 1))
    assert (again.rows, again.deleted) == (30, 30)
    assert loaders.table_checksum(target, "t") == before
    assert native(target, "SELECT chunk, count(*) FROM t GROUP BY chunk ORDER BY chunk") == [
        (1, 30),
        (2, 20),
    ]


@pytest.mark.parametrize("kind", FILE_ENGINES)
def test_replace_where_refuses_rows_of_another_chunk(target: Target):
    loaders.create_tables(target, {"t": CHUNK_SCHEMA})
    mixed = pa.concat_tables([_with_chunk(3, 1, 0), _with_chunk(2, 2, 3)])
    with pytest.raises(LoaderError, match="2 row"):
        loaders.load_table(target, "t", mixed, replace_where=("chunk", 1))
    with pytest.raises(InvalidIdentifier):
        loaders.load_table(target, "t", mixed, replace_where=("nope", 1))
    assert loaders.row_counts(target) == {"t": 0}


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_delete_chunk(target: Target):
    loaders.create_tables(target, {"t": CHUNK_SCHEMA})
    loaders.load_table(target, "t", _with_chunk(4, 1, 0))
    loaders.load_table(target, "t", _with_chunk(3, 2, 4))
    assert loaders.delete_chunk(target, "t", "chunk", 1) == 4
    assert loaders.delete_chunk(target, "t", "chunk", 1) == 0
    assert loaders.row_counts(target) == {"t": 3}


@pytest.mark.parametrize("kind", FILE_ENGINES)
def test_replace_where_on_a_date_chunk_column(target: Target):
    day = datetime.date(2024, 2, 29)
    table = pa.table({"day": pa.array([day] * 3, pa.date32()), "n": pa.array([1, 2, 3])})
    loaders.create_tables(target, {"t": table.schema})
    loaders.load_table(target, "t", table, replace_where=("day", day))
    assert loaders.load_table(target, "t", table, replace_where=("day", day)).deleted == 3
    assert loaders.delete_chunk(target, "t", "day", day) == 3


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_before_commit_shares_the_load_transaction(target: Target):
    state = pa.schema([("chunk", pa.int32()), ("state", pa.string())])
    loaders.create_tables(target, {"t": CHUNK_SCHEMA, "chunk_state": state})

    def record(conn: Any) -> None:
        conn.execute("INSERT INTO chunk_state VALUES (1, 'completed')")

    loaders.load_table(target, "t", _with_chunk(5, 1, 0), before_commit=record)
    assert loaders.row_counts(target) == {"chunk_state": 1, "t": 5}

    def crash(conn: Any) -> None:
        record(conn)
        raise RuntimeError("worker died before commit")

    with pytest.raises(RuntimeError):
        loaders.load_table(target, "t", _with_chunk(5, 2, 5), before_commit=crash)
    assert loaders.row_counts(target) == {"chunk_state": 1, "t": 5}


# --- creating tables and identifiers ------------------------------------------------------------

AWKWARD_TABLE = 'Order "Details" 2024'
AWKWARD_SCHEMA = pa.schema(
    [
        ("Select", pa.int64()),
        ("a b", pa.string()),
        ('it"s', pa.float64()),
        ("ÜmlautCol", pa.date32()),
        ("x; DROP TABLE t; --", pa.bool_()),
    ]
)


def awkward_table(n: int = 20) -> pa.Table:
    return pa.table(
        {
            "Select": pa.array(range(n), pa.int64()),
            "a b": pa.array(_cycle(["a", "", None, "b"], n)),
            'it"s': pa.array(_cycle([1.5, NAN, None], n), pa.float64()),
            "ÜmlautCol": pa.array(_cycle(DATES, n), pa.date32()),
            "x; DROP TABLE t; --": pa.array(_cycle([True, None], n)),
        },
        schema=AWKWARD_SCHEMA,
    )


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_awkward_identifiers_are_quoted(kind: str, target: Target):
    table = awkward_table()
    loaders.create_tables(
        target, {AWKWARD_TABLE: table.schema}, primary_keys={AWKWARD_TABLE: ["Select"]}
    )
    loaders.load_table(target, AWKWARD_TABLE, table)
    assert loaders.list_tables(target) == [AWKWARD_TABLE]
    assert loaders.table_schema(target, AWKWARD_TABLE).names == table.schema.names
    assert loaders.row_counts(target) == {AWKWARD_TABLE: 20}
    back = loaders.read_table(target, AWKWARD_TABLE).to_pylist()
    assert comparable(back, "Select") == expected_rows(kind, table, "Select")
    assert loaders.delete_chunk(target, AWKWARD_TABLE, "Select", 3) == 1


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_create_tables_is_idempotent_and_refuses_another_schema(target: Target):
    loaders.create_tables(target, {"t": CHUNK_SCHEMA})
    loaders.load_table(target, "t", _with_chunk(3, 1, 0))
    loaders.create_tables(target, {"t": CHUNK_SCHEMA})  # same columns: nothing happens
    assert loaders.row_counts(target) == {"t": 3}
    other = CHUNK_SCHEMA.append(pa.field("extra", pa.int16()))
    with pytest.raises(SchemaMismatch, match="extra"):
        loaders.create_tables(target, {"t": other})
    loaders.create_tables(target, {"t": other}, replace=True)
    assert loaders.row_counts(target) == {"t": 0}
    assert loaders.table_schema(target, "t").names == other.names


@pytest.mark.parametrize("kind", FILE_ENGINES)
def test_names_equal_but_for_case_are_refused_where_the_engine_folds_case(target: Target):
    schema = pa.schema([("Value", pa.int32()), ("value", pa.int32())])
    with pytest.raises(InvalidIdentifier, match="same identifier"):
        loaders.create_tables(target, {"t": schema})
    single = pa.schema([("v", pa.int32())])
    with pytest.raises(InvalidIdentifier, match="same identifier"):
        loaders.create_tables(target, {"T": single, "t": single})


@pytest.mark.parametrize("kind", [pytest.param("postgresql", marks=PG_ONLY)])
def test_postgresql_keeps_case_and_refuses_names_it_would_truncate(target: Target):
    schema = pa.schema([("Value", pa.int32()), ("value", pa.int32())])
    loaders.create_tables(target, {"T": schema, "t": schema})
    assert loaders.list_tables(target) == ["T", "t"]
    with pytest.raises(InvalidIdentifier, match="63 bytes"):
        loaders.create_tables(target, {"é" * 32: schema})


@pytest.mark.parametrize(
    "name", ["", "nul\x00byte"], ids=["empty", "nul"]
)  # refused on every engine
def test_unusable_names_are_refused(name: str, tmp_path: Any):
    target = Target.duckdb(tmp_path / "db.duckdb")
    with pytest.raises(InvalidIdentifier):
        loaders.create_tables(target, {name: pa.schema([("v", pa.int32())])})
    with pytest.raises(InvalidIdentifier):
        loaders.create_tables(target, {"t": pa.schema([(name, pa.int32())])})


def test_target_repr_and_errors_hide_the_password():
    target = Target.postgresql("host=127.0.0.1 port=1 user=u password=hunter2 dbname=d")
    assert "hunter2" not in repr(target)
    assert "dbname=d" in target.describe()
    url = Target.postgresql("postgresql://u:hunter2@127.0.0.1:1/d")
    assert "hunter2" not in repr(url)
    with pytest.raises(ConnectionFailed) as failure:  # nothing listens on port 1
        loaders.load_table(target, "t", pa.table({"v": [1]}))
    assert "hunter2" not in str(failure.value)
    assert "hunter2" not in str(failure.value.__cause__)
    with pytest.raises(ValueError, match="unknown engine"):
        Target("oracle", "x")  # type: ignore[arg-type]


# --- copying between engines --------------------------------------------------------------------


class Progress:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, table: str, done: int, total: int) -> None:
        self.calls.append((table, done, total))

    def for_table(self, table: str) -> list[tuple[int, int]]:
        return [(done, total) for name, done, total in self.calls if name == table]


def assert_batched_progress(progress: Progress, table: str, rows: int, batch: int) -> None:
    seen = progress.for_table(table)
    assert seen[0] == (0, rows) and seen[-1] == (rows, rows)
    assert len(seen) == 1 + math.ceil(rows / batch)  # one call per batch: never one big read
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def sqlite_indexes(target: Target, table: str) -> set[tuple[str, ...]]:
    conn = target.connect()
    try:
        names = conn.execute("SELECT name FROM pragma_index_list(?)", [table]).fetchall()
        return {
            tuple(r[0] for r in conn.execute("SELECT name FROM pragma_index_info(?)", [n]))
            for (n,) in names
        }
    finally:
        conn.close()


def duckdb_indexes(target: Target, table: str) -> tuple[set[str], set[tuple[str, ...]]]:
    """(index SQL texts, primary-key column tuples) of a DuckDB table."""
    conn = duckdb.connect(target.location)
    try:
        sqls = {r[0] for r in conn.execute(
            "SELECT sql FROM duckdb_indexes() WHERE table_name = ?", [table]
        ).fetchall()}  # fmt: skip
        keys = {tuple(r[0]) for r in conn.execute(
            "SELECT constraint_column_names FROM duckdb_constraints() "
            "WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'", [table]
        ).fetchall()}  # fmt: skip
        return sqls, keys
    finally:
        conn.close()


def pg_indexes(target: Target, table: str) -> tuple[set[str], list[tuple[str, str]]]:
    """(index definitions, (constraint type, column) rows) of a PostgreSQL table."""
    conn = target.connect()
    try:
        defs = {r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s", [table]
        ).fetchall()}  # fmt: skip
        keys = conn.execute(
            "SELECT tc.constraint_type, k.column_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name) "
            "WHERE tc.table_schema = current_schema() AND tc.table_name = %s "
            "ORDER BY k.ordinal_position",
            [table],
        ).fetchall()
        return defs, [tuple(r) for r in keys]
    finally:
        conn.close()


def test_copy_sqlite_to_duckdb_in_batches_then_indexes(make_target: Callable[..., Target]):
    source, dest = make_target("sqlite", "src"), make_target("duckdb", "dst")
    table = every_type_table(50)
    load_fresh(source, "t", table)
    load_fresh(source, AWKWARD_TABLE, awkward_table(9))
    progress = Progress()
    copied = loaders.copy_between(
        source,
        dest,
        batch_rows=7,
        primary_keys={"t": ["id"], AWKWARD_TABLE: ["Select"]},
        indexes={"t": [["s"], ["chunk", "i32"]], AWKWARD_TABLE: [["a b", 'it"s']]},
        progress=progress,
    )
    assert copied == {AWKWARD_TABLE: 9, "t": 50}
    assert loaders.row_counts(dest) == loaders.row_counts(source)
    for name in copied:
        assert loaders.table_checksum(dest, name) == loaders.table_checksum(source, name)
        assert loaders.table_schema(dest, name).types == loaders.table_schema(source, name).types
    assert_batched_progress(progress, "t", 50, 7)
    sqls, keys = duckdb_indexes(dest, "t")
    assert keys == {("id",)}
    assert {s.split(" ON ", 1)[1] for s in sqls} == {"t(s);", "t(chunk, i32);"}
    sqls, keys = duckdb_indexes(dest, AWKWARD_TABLE)
    assert keys == {("Select",)}
    assert [s.split("(", 1)[1] for s in sqls] == ['"a b", "it""s");']


@pytest.mark.parametrize("kind", [pytest.param("postgresql", marks=PG_ONLY)])
def test_copy_duckdb_to_postgresql_in_batches_then_indexes(
    target: Target, make_target: Callable[..., Target]
):
    source = make_target("duckdb", "src")
    table = every_type_table(50)
    load_fresh(source, "t", table)
    wide = ["-99999999999999999999999999999999999.999", "0.001", None]
    decimals = pa.table({"v": pa.array(wide).cast(pa.decimal128(38, 3))})
    load_fresh(source, "wide", decimals)
    progress = Progress()
    copied = loaders.copy_between(
        source,
        target,
        ["t", "wide"],
        batch_rows=8,
        primary_keys={"t": ["id"]},
        indexes={"t": [["s"], ["chunk", "i32"]]},
        progress=progress,
    )
    assert copied == {"t": 50, "wide": 3}
    assert loaders.row_counts(target) == {"t": 50, "wide": 3}
    # Exact, NaN and -0.0 included: both engines keep every value.
    for name in copied:
        assert loaders.table_checksum(target, name) == loaders.table_checksum(source, name)
    assert comparable(loaders.read_table(target, "t").to_pylist()) == comparable(table.to_pylist())
    assert_batched_progress(progress, "t", 50, 8)
    defs, keys = pg_indexes(target, "t")
    assert ("PRIMARY KEY", "id") in keys
    methods = {d.split(" USING ", 1)[1] for d in defs}
    assert methods == {"btree (id)", "btree (s)", "btree (chunk, i32)"}


@pytest.mark.parametrize("kind", [pytest.param("postgresql", marks=PG_ONLY)])
def test_copy_postgresql_to_sqlite_in_batches_then_indexes(
    target: Target, make_target: Callable[..., Target]
):
    dest = make_target("sqlite", "dst")
    table = every_type_table(50)
    load_fresh(target, "t", table)
    # One text column: a NULL row is an empty line in PostgreSQL's CSV, which must not vanish.
    notes = pa.table({"note": pa.array([None, "", "a", None, "\n", None], pa.string())})
    load_fresh(target, "notes", notes)
    progress = Progress()
    copied = loaders.copy_between(
        target,
        dest,
        batch_rows=6,
        primary_keys={"t": ["id"]},
        indexes={"t": [["ts"]], "notes": [["note"]]},
        progress=progress,
    )
    assert copied == {"notes": 6, "t": 50}
    assert loaders.row_counts(dest) == {"notes": 6, "t": 50}
    # SQLite drops NaN's and -0.0's identity (documented); everything else is exact.
    assert loaders.table_checksum(dest, "t") != loaders.table_checksum(target, "t")
    for name in copied:
        assert loaders.table_checksum(dest, name, normalize_floats=True) == loaders.table_checksum(
            target, name, normalize_floats=True
        )
    assert comparable(loaders.read_table(dest, "t").to_pylist()) == as_sqlite_keeps(
        table.to_pylist()
    )
    assert sorted(loaders.read_table(dest, "notes").column("note").to_pylist(), key=repr) == sorted(
        notes.column("note").to_pylist(), key=repr
    )
    assert_batched_progress(progress, "t", 50, 6)
    assert sqlite_indexes(dest, "t") == {("id",), ("ts",)}
    assert sqlite_indexes(dest, "notes") == {("note",)}
    with pytest.raises(LoadFailed):  # the unique index stands in for the primary key
        loaders.load_table(dest, "t", every_type_table(1, first_id=7))


def test_copy_refuses_an_existing_table_unless_replace(make_target: Callable[..., Target]):
    source, dest = make_target("duckdb", "src"), make_target("sqlite", "dst")
    load_fresh(source, "t", _with_chunk(5, 1, 0))
    load_fresh(dest, "t", _with_chunk(2, 9, 100))
    with pytest.raises(TableExists):
        loaders.copy_between(source, dest)
    assert loaders.row_counts(dest) == {"t": 2}
    assert loaders.copy_between(source, dest, replace=True) == {"t": 5}
    assert loaders.table_checksum(dest, "t") == loaders.table_checksum(source, "t")


def test_copy_refuses_unknown_tables_and_columns(make_target: Callable[..., Target]):
    source, dest = make_target("sqlite", "src"), make_target("duckdb", "dst")
    load_fresh(source, "t", _with_chunk(5, 1, 0))
    with pytest.raises(LoaderError, match="not found"):
        loaders.copy_between(source, dest, ["missing"])
    with pytest.raises(InvalidIdentifier, match="no column"):
        loaders.copy_between(source, dest, indexes={"t": [["nope"]]})
    with pytest.raises(InvalidIdentifier, match="not copied"):
        loaders.copy_between(source, dest, ["t"], primary_keys={"other": ["id"]})
    assert loaders.row_counts(dest) == {}


def test_a_failing_copy_leaves_the_table_out(make_target: Callable[..., Target]):
    source, dest = make_target("sqlite", "src"), make_target("duckdb", "dst")
    data = _with_chunk(20, 1, 0)
    data = data.set_column(0, "id", pa.array([1] * 20, pa.int64()))  # not a key
    load_fresh(source, "t", data)
    with pytest.raises(LoadFailed):
        loaders.copy_between(source, dest, batch_rows=3, primary_keys={"t": ["id"]})
    assert loaders.row_counts(dest) == {}


# --- loading a chunk once -----------------------------------------------------------------------


def _chunk_tables(chunk_id: int) -> dict[str, pa.Table]:
    return {
        "obj": pa.table({"id": pa.array([chunk_id * 10 + i for i in range(3)], pa.int64())}),
        "src": pa.table({"obj": pa.array([chunk_id * 10, chunk_id * 10], pa.int64())}),
    }


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_load_chunk_writes_a_chunk_once_per_run(target: Target) -> None:
    loaders.create_tables(target, {n: t.schema for n, t in _chunk_tables(0).items()})
    first = loaders.load_chunk(target, "fake", "run-1", 7, _chunk_tables(7), checksum="abc")
    assert first.loaded and first.rows == {"obj": 3, "src": 2}
    again = loaders.load_chunk(target, "fake", "run-1", 7, _chunk_tables(7), checksum="abc")
    assert not again.loaded and again.rows == {}
    loaders.load_chunk(target, "fake", "run-1", 8, _chunk_tables(8), checksum="def")
    # the ledger is bookkeeping: not listed, counted or copied with the data
    assert loaders.row_counts(target) == {"obj": 6, "src": 4}
    assert loaders.loaded_chunks(target, "run-1") == {7: "abc", 8: "def"}
    assert loaders.loaded_chunks(target, "run-2") == {}
    # another run of the same dataset loads its own copy; forgetting the dataset clears both
    assert loaders.load_chunk(target, "fake", "run-2", 7, _chunk_tables(7)).loaded
    assert loaders.forget_dataset(target, "fake") == 3
    assert loaders.loaded_chunks(target, "run-1") == {}


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_load_chunk_failing_table_leaves_nothing(target: Target) -> None:
    loaders.create_tables(target, {"obj": _chunk_tables(0)["obj"].schema})  # no table "src"
    with pytest.raises(LoadFailed):
        loaders.load_chunk(target, "fake", "run-1", 7, _chunk_tables(7))
    assert loaders.row_counts(target) == {"obj": 0}
    assert loaders.loaded_chunks(target, "run-1") == {}


def test_load_chunk_waits_for_another_process_holding_a_duckdb_file(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    path = tmp_path / "locked.duckdb"
    target = Target.duckdb(path)
    loaders.create_tables(target, {n: t.schema for n, t in _chunk_tables(0).items()})
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(path)!r}); "
            "print('held', flush=True); time.sleep(1.5)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert loaders.load_chunk(target, "fake", "r", 1, _chunk_tables(1)).loaded
    finally:
        holder.wait(timeout=30)
    assert loaders.row_counts(target) == {"obj": 3, "src": 2}


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_a_not_null_float_column_takes_nan_on_every_engine(target: Target) -> None:
    # The querygen spec's facts.price: no NULLs, but NaN among its special values.
    schema = pa.schema([pa.field("price", pa.float64(), nullable=False)])
    loaders.create_tables(target, {"facts": schema})
    loaders.load_table(target, "facts", pa.table({"price": [1.5, NAN]}, schema=schema))
    assert loaders.row_counts(target) == {"facts": 2}
