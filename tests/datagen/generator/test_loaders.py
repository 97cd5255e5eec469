"""datagen/generator/loaders.py against real SQLite and DuckDB files and a real PostgreSQL.

PostgreSQL cases carry ``db_dependent`` and run under ``--db=postgresql`` on the server of
tests/postgres_plugin.py, in a database of their own (one schema per test). The plain SQLite
pass leaves them out (marker postgresql_only); the PostgreSQL pass runs only them.
"""

from __future__ import annotations

import datetime
import math
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from datagen.generator import loaders
from datagen.generator.loaders import (
    InvalidIdentifier,
    LoaderError,
    LoadFailed,
    SchemaMismatch,
    Target,
    UnsupportedType,
)

# The fixture tests/datagen/conftest.py takes from here, for the app's tests.
from tests.datagen.generator.conftest import pg_database  # noqa: F401
from tests.datagen.generator.factories import (
    ALL_ENGINES,
    AWKWARD_TABLE,
    CHUNK_SCHEMA,
    FILE_ENGINES,
    INF,
    NAN,
    PG_ONLY,
    TIMESTAMPS,
    TS,
    TYPED_ENGINES,
    awkward_table,
    comparable,
    every_type_table,
    expected_rows,
    load_fresh,
    native,
    with_chunk,
)

# --- the type mapping ---------------------------------------------------------------------------


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


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_a_failing_load_leaves_nothing_behind(target: Target):
    loaders.create_tables(target, {"t": CHUNK_SCHEMA}, primary_keys={"t": ["id"]})
    loaders.load_table(target, "t", with_chunk(10, 1, 0))
    # The NULL is in the last row, after a whole batch has gone to the engine.
    n = loaders.LOAD_BATCH_ROWS + 10
    with pytest.raises(LoadFailed):
        loaders.load_table(target, "t", with_chunk(n, 2, 100, bad_last=True))
    assert loaders.row_counts(target) == {"t": 10}
    # A failed re-delivery keeps the chunk's previous copy: the DELETE is rolled back too.
    with pytest.raises(LoadFailed):
        loaders.load_table(
            target, "t", with_chunk(n, 1, 0, bad_last=True), replace_where=("chunk", 1)
        )
    assert native(target, "SELECT count(*), min(id), max(id) FROM t WHERE chunk = 1") == [
        (10, 0, 9)
    ]


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_a_duplicate_key_halfway_leaves_nothing_behind(target: Target):
    loaders.create_tables(target, {"t": CHUNK_SCHEMA}, primary_keys={"t": ["id"]})
    data = with_chunk(loaders.LOAD_BATCH_ROWS + 10, 1, 0)
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
    mixed = pa.concat_tables([with_chunk(3, 1, 0), with_chunk(2, 2, 3)])
    with pytest.raises(LoaderError, match="2 row"):
        loaders.load_table(target, "t", mixed, replace_where=("chunk", 1))
    with pytest.raises(InvalidIdentifier):
        loaders.load_table(target, "t", mixed, replace_where=("nope", 1))
    assert loaders.row_counts(target) == {"t": 0}


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_delete_chunk(target: Target):
    loaders.create_tables(target, {"t": CHUNK_SCHEMA})
    loaders.load_table(target, "t", with_chunk(4, 1, 0))
    loaders.load_table(target, "t", with_chunk(3, 2, 4))
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

    loaders.load_table(target, "t", with_chunk(5, 1, 0), before_commit=record)
    assert loaders.row_counts(target) == {"chunk_state": 1, "t": 5}

    def crash(conn: Any) -> None:
        record(conn)
        raise RuntimeError("worker died before commit")

    with pytest.raises(RuntimeError):
        loaders.load_table(target, "t", with_chunk(5, 2, 5), before_commit=crash)
    assert loaders.row_counts(target) == {"chunk_state": 1, "t": 5}


# --- creating tables and identifiers ------------------------------------------------------------


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
    loaders.load_table(target, "t", with_chunk(3, 1, 0))
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


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_a_not_null_float_column_takes_nan_on_every_engine(target: Target) -> None:
    # The querygen spec's facts.price: no NULLs, but NaN among its special values.
    schema = pa.schema([pa.field("price", pa.float64(), nullable=False)])
    loaders.create_tables(target, {"facts": schema})
    loaders.load_table(target, "facts", pa.table({"price": [1.5, NAN]}, schema=schema))
    assert loaders.row_counts(target) == {"facts": 2}
