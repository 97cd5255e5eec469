"""Reading a target back: its tables, their schemas, rows and order-free checksums.

The ledger table is never listed, counted or read as data (dbkinds leaves it out).
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
from typing import Any

import pyarrow as pa

from datagen.generator.bulk import connected
from datagen.generator.sqltypes import nullable
from datagen.generator.targets import Target, UnsupportedType


def list_tables(target: Target) -> list[str]:
    """Base tables in the connection's current schema, sorted."""
    with connected(target) as (engine, conn):
        return engine.db.list_tables(conn)


def table_schema(target: Target, table: str) -> pa.Schema:
    """The table's columns as Arrow types (the inverse of the mapping create_tables uses)."""
    with connected(target) as (engine, conn):
        return engine.reflect(conn, table)


def read_table(target: Target, table: str, *, batch_rows: int = 100_000) -> pa.Table:
    """The whole table as Arrow, through the same readers copy_between uses. Rows unordered."""
    with connected(target) as (engine, conn):
        schema = engine.reflect(conn, table)
        parts = list(engine.read(conn, table, schema, batch_rows))
    return pa.concat_tables(parts) if parts else nullable(schema).empty_table()


def row_counts(target: Target) -> dict[str, int]:
    with connected(target) as (engine, conn):
        return {name: engine.count(conn, name) for name in engine.db.list_tables(conn)}


def table_checksum(
    target: Target, table: str, *, normalize_floats: bool = False, batch_rows: int = 100_000
) -> str:
    """A digest of the table's rows that ignores their order and the engine holding them.

    Order-free on purpose: engines sort NULLs and strings (collations) differently, so an
    ORDER BY would not give the same sequence everywhere. Each row is hashed from its values
    as Arrow reads them back; the row hashes are summed (a multiset hash, duplicates count).
    ``normalize_floats`` hashes NaN as NULL and -0.0 as 0.0: what a SQLite copy can hold.
    """
    with connected(target) as (engine, conn):
        schema = engine.reflect(conn, table)
        total = 0
        rows = 0
        for part in engine.read(conn, table, schema, batch_rows):
            columns = [part.column(i).to_pylist() for i in range(part.num_columns)]
            for row in zip(*columns, strict=True):
                encoded = json.dumps(
                    [_canonical(v, normalize_floats) for v in row], ensure_ascii=True
                ).encode()
                total += int.from_bytes(hashlib.sha256(encoded).digest(), "big")
            rows += part.num_rows
    header = json.dumps([[f.name, str(f.type)] for f in schema])
    summary = f"{header}|{rows}|{total % (1 << 256):064x}"
    return hashlib.sha256(summary.encode()).hexdigest()


def _canonical(value: Any, normalize_floats: bool) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if normalize_floats and value != value:  # NaN
            return None
        if normalize_floats and value == 0.0:
            return "f:0"
        return "f:" + value.hex()
    if isinstance(value, decimal.Decimal):
        return "d:" + str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return type(value).__name__ + ":" + value.isoformat()
    raise UnsupportedType(f"cannot checksum a {type(value).__name__}")
