"""datagen/generator/sqltypes.py: the column types the loaders declare per engine."""

from __future__ import annotations

import pyarrow as pa
import pytest

from datagen.generator import sqltypes
from tests.datagen.generator.factories import TS


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
    assert sqltypes.sql_type("postgresql", arrow_type) == postgresql
    assert sqltypes.sql_type("duckdb", arrow_type) == duckdb_type
    assert sqltypes.sql_type("sqlite", arrow_type) == sqlite
