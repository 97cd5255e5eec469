"""Small specs for the generator's tests, built as Python data and changed one key at a time;
and the Arrow tables the loaders' tests load (every supported type with the values that break
loaders, awkward names, chunks), with the engines they run on."""

from __future__ import annotations

import copy
import datetime
import math
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from datagen.generator import Spec, loaders, parse_spec
from datagen.generator.loaders import Target


def spec_data(**tables: dict[str, Any]) -> dict[str, Any]:
    """A spec with integer chunking and the given tables (default: one table T)."""
    return {
        "name": "t",
        "chunking": {"kind": "integer", "num_chunks": 8},
        "tables": tables
        or {
            "T": {
                "rows": 100,
                "columns": {
                    "id": {"type": "int64", "generator": "sequence"},
                    "x": {"type": "float64", "generator": "uniform", "min": 0, "max": 1},
                },
            }
        },
    }


def two_tables() -> dict[str, Any]:
    return spec_data(
        Parent={
            "rows": 50,
            "columns": {
                "id": {"type": "int64", "generator": "sequence"},
                "name": {"type": "string", "generator": "words"},
            },
        },
        Child={
            "rows": {"ratio": 4, "of": "Parent"},
            "columns": {
                "id": {"type": "int64", "generator": "sequence"},
                "parent_id": {"type": "int64", "generator": "ref", "table": "Parent"},
            },
        },
    )


def every_generator(rows: int = 2000) -> dict[str, Any]:
    """One column per generator and type, sky chunking (for sky_ra, sky_dec, subchunk_id)."""
    columns = {
        "id": {"type": "int64", "generator": "sequence", "start": 1000},
        "i32": {"type": "int32", "generator": "uniform", "min": -5, "max": 5},
        "i64": {"type": "int64", "generator": "uniform", "min": -(2**63), "max": 2**63 - 1},
        "f32": {"type": "float32", "generator": "uniform", "min": 1.5, "max": 2.5},
        "f64n": {"type": "float64", "generator": "normal", "mean": 10, "stddev": 2},
        "i32n": {"type": "int32", "generator": "normal", "mean": 0, "stddev": 1e12},
        "dec": {"type": "decimal(10,2)", "generator": "uniform", "min": "-12.5", "max": 99.99},
        "decn": {"type": "decimal(4,1)", "generator": "normal", "mean": 0, "stddev": 1e6},
        "pois": {"type": "int32", "generator": "poisson", "lam": 4},
        "poisf": {"type": "float64", "generator": "poisson", "lam": 4},
        "pick": {
            "type": "string",
            "generator": "choice",
            "values": ["a", "b", "never"],
            "weights": [3, 1, 0],
        },
        "word": {"type": "string", "generator": "words"},
        "words3": {"type": "string", "generator": "words", "n": 3},
        "body": {"type": "string", "generator": "text", "min_words": 2, "max_words": 5},
        "day": {"type": "date", "generator": "date", "start": "2020-01-01", "end": "2020-12-31"},
        "at": {
            "type": "timestamp",
            "generator": "timestamp",
            "start": "2020-01-01 00:00:00",
            "end": "2020-01-02 00:00:00",
        },
        "yes": {"type": "bool", "generator": "bool", "p": 0.25},
        "const": {"type": "decimal(5,2)", "generator": "constant", "value": 1.25},
        "ra": {"type": "float64", "generator": "sky_ra"},
        "dec_": {"type": "float32", "generator": "sky_dec"},
        "chunk": {"type": "int32", "generator": "chunk_id"},
        "sub": {"type": "int32", "generator": "subchunk_id", "ra": "ra", "dec": "dec_2"},
        "dec_2": {"type": "float64", "generator": "sky_dec"},
    }
    # subchunk_id must follow its columns: move it last.
    columns["sub"] = columns.pop("sub")
    return {
        "name": "every",
        "chunking": {"kind": "sky", "num_stripes": 18, "num_substripes_per_stripe": 3},
        "tables": {
            "All": {"rows": rows, "columns": columns},
            "Refs": {
                "rows": {"poisson": 500},
                "columns": {
                    "id": {"type": "int64", "generator": "sequence"},
                    "all_id": {"type": "int64", "generator": "ref", "table": "All"},
                    "hot_id": {"type": "int64", "generator": "ref", "table": "All", "skew": 2},
                },
            },
        },
    }


def build(data: dict[str, Any]) -> Spec:
    return parse_spec(copy.deepcopy(data))


# --- the loaders' tables ------------------------------------------------------------------------

PG_ONLY = [pytest.mark.db_dependent, pytest.mark.postgresql_only]
FILE_ENGINES = ["sqlite", "duckdb"]
ALL_ENGINES = [*FILE_ENGINES, pytest.param("postgresql", marks=PG_ONLY)]
TYPED_ENGINES = ["duckdb", pytest.param("postgresql", marks=PG_ONLY)]  # engines that check types

TS = pa.timestamp("us")
NAN = float("nan")
INF = float("inf")


def native(target: Target, query: str) -> list[tuple[Any, ...]]:
    """Rows straight from the driver, bypassing the module's readers."""
    conn = target.connect()
    try:
        return [tuple(row) for row in conn.execute(query).fetchall()]
    finally:
        conn.close()


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


# --- chunks ---------------------------------------------------------------------------------------


def with_chunk(n: int, chunk: int, first_id: int, *, bad_last: bool = False) -> pa.Table:
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


# --- names ----------------------------------------------------------------------------------------

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
