"""Arrow in and out of each kind of database, and the SQL the loaders run on a connection.

An Engine is a kind of database as the loaders use it: its facts (connecting, transactions,
the catalog, type names) come from dbkinds; what stays here is moving Arrow data in bulk
(SQLite executemany, DuckDB over registered Arrow tables, PostgreSQL COPY in CSV).
"""

from __future__ import annotations

import abc
import contextlib
import decimal
import hashlib
import io
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

import dbkinds
from datagen.generator.sqltypes import (
    describe_schema,
    nullable,
    rebatch,
    reflected_type,
    same_columns,
    sql_type,
    storage_type,
)
from datagen.generator.targets import (
    ConnectionFailed,
    InvalidIdentifier,
    Kind,
    LoaderError,
    LoadFailed,
    SchemaMismatch,
    TableExists,
    Target,
    check_names,
)
from dbkinds import postgresql

# Rows per batch handed to executemany / one CSV chunk of a COPY: bounds the Python objects alive.
LOAD_BATCH_ROWS = 65_536
# A PostgreSQL COPY TO block must hold at least one whole row.
_CSV_BLOCK_BYTES = 8 << 20

DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    sqlite3.Error,
    duckdb.Error,
    psycopg.Error,
    pa.ArrowException,
)

quote = dbkinds.base.quote


def quote_list(names: Sequence[str]) -> str:
    return ", ".join(quote(n) for n in names)


class Engine(abc.ABC):
    """What differs between engines; the public functions of the loaders hold the workflow."""

    kind: ClassVar[Kind]
    load_batch_rows: ClassVar[int | None] = LOAD_BATCH_ROWS

    def __init__(self) -> None:
        self.db = dbkinds.get(self.kind)
        self.param: str = self.db.PARAM

    def transaction(self, conn: Any) -> contextlib.AbstractContextManager[None]:
        return self.db.transaction(conn)

    def changed_rows(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT, UPDATE or DELETE; how many rows it changed."""
        return int(self.db.changed_rows(conn, sql, params))

    def execute(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> None:
        conn.execute(sql, params)

    def query(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return conn.execute(sql, params).fetchall()

    def bind(self, value: Any, arrow_type: pa.DataType) -> Any:
        """A Python value as the driver should bind it for a column of ``arrow_type``."""
        return value

    @abc.abstractmethod
    def write(
        self, conn: Any, table: str, names: Sequence[str], parts: Iterable[pa.Table]
    ) -> int: ...

    @abc.abstractmethod
    def read(self, conn: Any, table: str, schema: pa.Schema, rows: int) -> Iterator[pa.Table]: ...

    def add_primary_key(self, conn: Any, table: str, columns: Sequence[str]) -> None:
        if not self.db.can_add_primary_key():  # a unique index stands in for it
            self.create_index(conn, table, columns, unique=True)
            return
        self.execute(conn, f"ALTER TABLE {quote(table)} ADD PRIMARY KEY ({quote_list(columns)})")

    def create_index(
        self, conn: Any, table: str, columns: Sequence[str], *, unique: bool = False
    ) -> None:
        name = _index_name(table, columns, "key" if unique else "idx")
        kind = "UNIQUE INDEX" if unique else "INDEX"
        self.execute(conn, f"CREATE {kind} {quote(name)} ON {quote(table)} ({quote_list(columns)})")

    def find_table(self, conn: Any, name: str) -> str | None:
        """The stored spelling of table ``name`` (the ledger too), or None."""
        key = self.db.identifier_key(name)
        for existing in self.db.list_tables(conn, include_ledger=True):
            if self.db.identifier_key(existing) == key:
                return existing
        return None

    def reflect(self, conn: Any, table: str) -> pa.Schema:
        cols = self.db.columns(conn, table)
        if not cols:
            raise LoaderError(f"table {table!r} not found in {self.kind}")
        return pa.schema(
            [
                pa.field(
                    c.name,
                    reflected_type(self.kind, table, c.name, c.declared, c.precision, c.scale),
                    c.nullable,
                )
                for c in cols
            ]
        )

    def count(self, conn: Any, table: str) -> int:
        return int(self.query(conn, f"SELECT count(*) FROM {quote(table)}")[0][0])  # noqa: S608 (quoted)

    def delete_where(self, conn: Any, table: str, column: str, value: Any) -> int:
        sql = f"DELETE FROM {quote(table)} WHERE {quote(column)} = {self.param}"  # noqa: S608 (quoted)
        return self.changed_rows(conn, sql, [value])

    def select_sql(self, table: str, names: Sequence[str]) -> str:
        return f"SELECT {quote_list(names)} FROM {quote(table)}"  # noqa: S608 (quoted)


def _index_name(table: str, columns: Sequence[str], suffix: str) -> str:
    name = "_".join([table, *columns, suffix])
    if len(name.encode()) <= postgresql.MAX_IDENTIFIER_BYTES:
        return name
    # Fits PostgreSQL's limit (the shortest) on every engine, stays unique per (table, columns).
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:10]
    return name.encode()[:40].decode(errors="ignore") + "_" + digest + "_" + suffix


# --- SQLite -------------------------------------------------------------------------------------


class _SQLite(Engine):
    kind = "sqlite"

    def bind(self, value: Any, arrow_type: pa.DataType) -> Any:
        if value is None:
            return None
        return _sqlite_values(pa.array([value], storage_type(arrow_type)))[0]

    def write(
        self, conn: sqlite3.Connection, table: str, names: Sequence[str], parts: Iterable[pa.Table]
    ) -> int:
        marks = ", ".join("?" * len(names))
        sql = f"INSERT INTO {quote(table)} ({quote_list(names)}) VALUES ({marks})"  # noqa: S608 (quoted)
        rows = 0
        for part in parts:
            columns = [_sqlite_values(part.column(i)) for i in range(part.num_columns)]
            conn.executemany(sql, zip(*columns, strict=True))
            rows += part.num_rows
        return rows

    def read(
        self, conn: sqlite3.Connection, table: str, schema: pa.Schema, rows: int
    ) -> Iterator[pa.Table]:
        cursor = conn.execute(self.select_sql(table, schema.names))
        try:
            while chunk := cursor.fetchmany(rows):
                columns = list(zip(*chunk, strict=True))
                arrays = [
                    _from_sqlite(list(col), f.type) for col, f in zip(columns, schema, strict=True)
                ]
                yield pa.Table.from_arrays(arrays, schema=nullable(schema))
        finally:
            cursor.close()


def _sqlite_values(column: pa.Array | pa.ChunkedArray) -> list[Any]:
    """Python values SQLite stores faithfully under the declared types dbkinds.sqlite names."""
    t = column.type
    if pa.types.is_boolean(t):
        return pc.cast(column, pa.int8()).to_pylist()
    if pa.types.is_decimal(t) or pa.types.is_date(t) or pa.types.is_timestamp(t):
        # Text: NUMERIC affinity turns decimals into INTEGER/REAL; dates and timestamps stay
        # fixed-width ISO text ('YYYY-MM-DD HH:MM:SS.ffffff') that sorts like the values.
        return pc.cast(column, pa.string()).to_pylist()
    return column.to_pylist()  # ints, floats (NaN becomes NULL in SQLite), strings


def _from_sqlite(values: list[Any], t: pa.DataType) -> pa.Array:
    if pa.types.is_boolean(t):
        return pa.array(values, pa.int64()).cast(t)
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return pa.array(values, pa.string()).cast(t)
    if pa.types.is_floating(t):
        return pa.array(values, pa.float64()).cast(t)
    if pa.types.is_decimal(t):
        quantum = decimal.Decimal(1).scaleb(-t.scale)
        context = decimal.Context(prec=t.precision + 20)
        return pa.array(
            [
                None if v is None else decimal.Decimal(str(v)).quantize(quantum, context=context)
                for v in values
            ],
            t,
        )
    return pa.array(values, t)


# --- DuckDB -------------------------------------------------------------------------------------


class _DuckDB(Engine):
    kind = "duckdb"
    load_batch_rows = None  # one INSERT ... SELECT over the whole registered Arrow table

    def write(self, conn: Any, table: str, names: Sequence[str], parts: Iterable[pa.Table]) -> int:
        rows = 0
        for part in parts:
            view = f"__assay_load_{uuid.uuid4().hex}"
            conn.register(view, part)  # zero-copy: DuckDB scans the Arrow buffers
            try:
                cols = quote_list(names)
                conn.execute(
                    f"INSERT INTO {quote(table)} ({cols}) SELECT {cols} FROM {quote(view)}"  # noqa: S608 (quoted)
                )
            finally:
                conn.unregister(view)
            rows += part.num_rows
        return rows

    def read(self, conn: Any, table: str, schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
        relation = conn.sql(self.select_sql(table, schema.names))
        # duckdb 1.4+ calls it to_arrow_reader; 1.1 has record_batch.
        make_reader = getattr(relation, "to_arrow_reader", None) or relation.record_batch
        read_schema = nullable(schema)
        for part in rebatch(make_reader(rows), rows):
            # VARCHAR may come back as string_view or large_string depending on settings.
            yield part.cast(read_schema)


# --- PostgreSQL ---------------------------------------------------------------------------------


class _PostgreSQL(Engine):
    kind = "postgresql"

    def write(self, conn: Any, table: str, names: Sequence[str], parts: Iterable[pa.Table]) -> int:
        # CSV, not binary: Arrow writes it in C++ (values never become Python objects), and
        # PostgreSQL's CSV keeps NULL (unquoted empty) apart from '' (quoted, as is every value
        # here), with tabs, newlines and backslashes taken literally inside quotes.
        sql = f"COPY {quote(table)} ({quote_list(names)}) FROM STDIN (FORMAT CSV)"
        options = pcsv.WriteOptions(include_header=False, quoting_style="all_valid")
        rows = 0
        with conn.cursor() as cursor, cursor.copy(sql) as copy:
            for part in parts:
                sink = pa.BufferOutputStream()
                pcsv.write_csv(part, sink, options)
                copy.write(memoryview(sink.getvalue()))
                rows += part.num_rows
        return rows

    def read(self, conn: Any, table: str, schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
        sql = f"COPY {quote(table)} ({quote_list(schema.names)}) TO STDOUT (FORMAT CSV)"
        convert = pcsv.ConvertOptions(
            column_types=nullable(schema),
            null_values=[""],  # PostgreSQL writes NULL as an unquoted empty field ...
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,  # ... and the empty string as ""
            true_values=["t"],
            false_values=["f"],
        )
        parse = pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False)
        read = pcsv.ReadOptions(
            column_names=schema.names, use_threads=False, block_size=_CSV_BLOCK_BYTES
        )
        with conn.cursor() as cursor, cursor.copy(sql) as copy:
            stream = io.BufferedReader(_ChunkStream(iter(copy)), buffer_size=1 << 20)
            reader = pcsv.open_csv(
                stream, read_options=read, parse_options=parse, convert_options=convert
            )
            yield from rebatch(reader, rows)


class _ChunkStream(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (a COPY TO's output)."""

    def __init__(self, chunks: Iterator[Any]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(bytes(chunk))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


ENGINES: dict[Kind, Engine] = {e.kind: e for e in (_SQLite(), _DuckDB(), _PostgreSQL())}


@contextlib.contextmanager
def connected(target: Target) -> Iterator[tuple[Engine, Any]]:
    engine = ENGINES[target.kind]
    try:
        conn = engine.db.connect(target.location)
    except DRIVER_ERRORS as exc:
        raise ConnectionFailed(str(failed("connecting", target, exc))) from exc
    try:
        yield engine, conn
    finally:
        conn.close()


def failed(action: str, target: Target, exc: BaseException) -> LoadFailed:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return LoadFailed(f"{action} on {target.kind} {target.describe()}: {message}")


# --- creating tables ----------------------------------------------------------------------------


def create_table(
    engine: Engine,
    conn: Any,
    name: str,
    schema: pa.Schema,
    primary_key: Sequence[str],
    *,
    replace: bool,
    exists_ok: bool,
) -> None:
    existing = engine.find_table(conn, name)
    if existing is not None and replace:
        engine.execute(conn, f"DROP TABLE {quote(existing)}")
    elif existing is not None:
        if not exists_ok:
            raise TableExists(f"table {name!r} already exists; pass replace=True to recreate it")
        found = engine.reflect(conn, existing)
        if not same_columns(found, schema, engine.kind):
            raise SchemaMismatch(
                f"table {name!r} exists with columns ({describe_schema(found)}), "
                f"not ({describe_schema(schema)}); pass replace=True to recreate it"
            )
        return
    key = set(primary_key)

    def not_null(f: pa.Field) -> bool:
        # SQLite stores NaN as NULL: a float column declared NOT NULL would refuse NaN.
        nan_is_null = engine.kind == "sqlite" and pa.types.is_floating(f.type)
        return f.name in key or (not f.nullable and not nan_is_null)

    columns = [
        f"{quote(f.name)} {sql_type(engine.kind, f.type)}" + (" NOT NULL" if not_null(f) else "")
        for f in schema
    ]
    if primary_key:
        columns.append(f"PRIMARY KEY ({quote_list(primary_key)})")
    engine.execute(conn, f"CREATE TABLE {quote(name)} ({', '.join(columns)})")


def check_table_spec(
    kind: Kind, name: str, schema: pa.Schema, key_sets: Sequence[Sequence[str]]
) -> None:
    check_names(kind, [name], "table")
    check_names(kind, schema.names, f"table {name!r}")
    if not schema.names:
        raise InvalidIdentifier(f"table {name!r} has no columns")
    for columns in key_sets:
        if not columns:
            raise InvalidIdentifier(f"table {name!r}: an index or key needs at least one column")
        missing = [c for c in columns if c not in schema.names]
        if missing:
            raise InvalidIdentifier(f"table {name!r} has no column(s) {missing}")
