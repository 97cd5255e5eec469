"""Load Arrow tables into SQLite, DuckDB and PostgreSQL, and copy tables between engines.

Pure Python (pyarrow, duckdb, sqlite3, psycopg 3); nothing from Django. The type mapping, the
idempotency design (``replace_where``) and what each engine cannot store (SQLite NaN, -0.0 and
long decimals) are documented in docs/datagen-loading.md.

Every public call opens its own connection and runs in one transaction: when it raises, the
target holds nothing of that call.

This module creates tables and loads them; the rest lives next to it and is importable from
here too: targets.py (Target, the errors), sqltypes.py (Arrow <-> the engines' column types),
bulk.py (Arrow in and out of each engine), ledger.py (loading a chunk once), copying.py
(copy_between) and reading.py (listing, reading back, checksums). What each engine is (how to
connect, quote, list tables) comes from dbkinds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from datagen.generator.bulk import (
    DRIVER_ERRORS,
    LOAD_BATCH_ROWS,
    check_table_spec,
    connected,
    create_table,
    failed,
)
from datagen.generator.copying import ProgressCallback, copy_between
from datagen.generator.ledger import (
    LEDGER_TABLE,
    ChunkLoad,
    forget_dataset,
    load_chunk,
    loaded_chunks,
)
from datagen.generator.reading import (
    list_tables,
    read_table,
    row_counts,
    table_checksum,
    table_schema,
)
from datagen.generator.sqltypes import (
    TIMESTAMP,
    normalize_schema,
    normalize_table,
    slices,
    sql_type,
)
from datagen.generator.targets import (
    DUCKDB_LOCK_WAIT_SECONDS,
    KINDS,
    ConnectionFailed,
    InvalidIdentifier,
    Kind,
    LoaderError,
    LoadFailed,
    LoadResult,
    SchemaMismatch,
    TableExists,
    Target,
    UnsupportedType,
    check_names,
)

__all__ = [
    "DUCKDB_LOCK_WAIT_SECONDS",
    "KINDS",
    "LEDGER_TABLE",
    "LOAD_BATCH_ROWS",
    "TIMESTAMP",
    "ChunkLoad",
    "ConnectionFailed",
    "InvalidIdentifier",
    "Kind",
    "LoadFailed",
    "LoadResult",
    "LoaderError",
    "ProgressCallback",
    "SchemaMismatch",
    "TableExists",
    "Target",
    "UnsupportedType",
    "copy_between",
    "create_tables",
    "delete_chunk",
    "forget_dataset",
    "list_tables",
    "load_chunk",
    "load_table",
    "loaded_chunks",
    "read_table",
    "row_counts",
    "sql_type",
    "table_checksum",
    "table_schema",
]


def create_tables(
    target: Target,
    schemas: Mapping[str, pa.Schema],
    *,
    primary_keys: Mapping[str, Sequence[str]] | None = None,
    replace: bool = False,
) -> None:
    """Create the tables (one transaction for all of them).

    A table that already exists with the same column names and types is left alone, so a
    repeated call changes nothing; with other columns it raises SchemaMismatch unless
    ``replace`` (drop and create again). Primary-key columns are NOT NULL on every engine.
    """
    primary_keys = primary_keys or {}
    unknown = set(primary_keys) - set(schemas)
    if unknown:
        raise InvalidIdentifier(f"primary_keys names tables not in schemas: {sorted(unknown)}")
    plan = {name: normalize_schema(schema) for name, schema in schemas.items()}
    for name, schema in plan.items():
        key = list(primary_keys.get(name, ()))
        check_table_spec(target.kind, name, schema, [key] if key else [])
    check_names(target.kind, list(plan), "tables")
    with connected(target) as (engine, conn):
        try:
            with engine.transaction(conn):
                for name, schema in plan.items():
                    create_table(
                        engine,
                        conn,
                        name,
                        schema,
                        primary_keys.get(name, ()),
                        replace=replace,
                        exists_ok=True,
                    )
        except DRIVER_ERRORS as exc:
            raise failed("create_tables", target, exc) from exc


# --- loading ------------------------------------------------------------------------------------


def _check_chunk_rows(table: pa.Table, column: str, value: Any) -> None:
    """Every row must belong to the chunk, or a re-delivery would not replace all of them."""
    if column not in table.column_names:
        raise InvalidIdentifier(f"replace_where column {column!r} is not in the table")
    values = table.column(column)
    try:
        scalar = pa.scalar(value, values.type)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise LoaderError(f"replace_where value {value!r} does not fit {values.type}") from exc
    others = values.null_count + int(pc.sum(pc.not_equal(values, scalar)).as_py() or 0)
    if others:
        raise LoaderError(
            f"replace_where=({column!r}, {value!r}): {others} row(s) hold another value; "
            "a second delivery would not replace them"
        )


def _nan_count(table: pa.Table) -> int:
    total = 0
    for column in table.columns:
        if pa.types.is_floating(column.type):
            total += int(pc.sum(pc.is_nan(column)).as_py() or 0)
    return total


def load_table(
    target: Target,
    table_name: str,
    data: pa.Table | pa.RecordBatch,
    *,
    replace_where: tuple[str, Any] | None = None,
    before_commit: Callable[[Any], None] | None = None,
) -> LoadResult:
    """Append ``data`` to an existing table, in one transaction.

    PostgreSQL: COPY FROM STDIN in CSV; DuckDB: INSERT ... SELECT over the registered Arrow
    table; SQLite: executemany. Columns are matched by name.

    ``replace_where=(column, value)`` first deletes the rows where ``column = value`` in the
    same transaction, so loading a chunk twice leaves one copy; every row of ``data`` must hold
    that value. ``before_commit(connection)`` runs inside the transaction after the rows are in
    (record the chunk's state there when it lives in the same database); if it raises, nothing
    is committed.
    """
    table = normalize_table(data)
    check_names(target.kind, [table_name], "table")
    check_names(target.kind, table.column_names, f"table {table_name!r}")
    if replace_where is not None:
        _check_chunk_rows(table, *replace_where)
    nan_as_null = _nan_count(table) if target.kind == "sqlite" else 0
    started = time.perf_counter()
    with connected(target) as (engine, conn):
        try:
            with engine.transaction(conn):
                deleted = 0
                if replace_where is not None:
                    column, value = replace_where
                    bound = engine.bind(value, table.column(column).type)
                    deleted = engine.delete_where(conn, table_name, column, bound)
                rows = engine.write(
                    conn, table_name, table.column_names, slices(table, engine.load_batch_rows)
                )
                if before_commit is not None:
                    before_commit(conn)
        except DRIVER_ERRORS as exc:
            raise failed(f"loading {table_name!r}", target, exc) from exc
    return LoadResult(
        rows=rows,
        seconds=time.perf_counter() - started,
        deleted=deleted,
        nan_as_null=nan_as_null,
    )


def delete_chunk(target: Target, table_name: str, chunk_column: str, chunk_id: Any) -> int:
    """Delete one chunk's rows (one transaction); returns how many there were."""
    with connected(target) as (engine, conn):
        try:
            with engine.transaction(conn):
                schema = engine.reflect(conn, table_name)
                if chunk_column not in schema.names:
                    raise InvalidIdentifier(f"table {table_name!r} has no column {chunk_column!r}")
                bound = engine.bind(chunk_id, schema.field(chunk_column).type)
                return engine.delete_where(conn, table_name, chunk_column, bound)
        except DRIVER_ERRORS as exc:
            raise failed(f"deleting a chunk of {table_name!r}", target, exc) from exc
