"""Load Arrow tables into SQLite, DuckDB and PostgreSQL, and copy tables between engines.

Pure Python (pyarrow, duckdb, sqlite3, psycopg 3); nothing from Django. The type mapping, the
idempotency design (``replace_where``) and what each engine cannot store (SQLite NaN, -0.0 and
long decimals) are documented in docs/datagen-loading.md.

Every public call opens its own connection and runs in one transaction: when it raises, the
target holds nothing of that call.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import datetime
import decimal
import hashlib
import io
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import duckdb
import psycopg
import psycopg.conninfo
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

__all__ = [
    "ConnectionFailed",
    "InvalidIdentifier",
    "LoadFailed",
    "LoadResult",
    "LoaderError",
    "SchemaMismatch",
    "TableExists",
    "Target",
    "UnsupportedType",
    "copy_between",
    "create_tables",
    "delete_chunk",
    "list_tables",
    "load_table",
    "read_table",
    "row_counts",
    "sql_type",
    "table_checksum",
    "table_schema",
]

Kind = Literal["sqlite", "duckdb", "postgresql"]
KINDS: tuple[Kind, ...] = ("sqlite", "duckdb", "postgresql")
ProgressCallback = Callable[[str, int, int], None]
"""``progress(table, rows_copied, rows_total)``, called before the first and after every batch."""

TIMESTAMP = pa.timestamp("us")
# Rows per batch handed to executemany / one CSV chunk of a COPY: bounds the Python objects alive.
LOAD_BATCH_ROWS = 65_536
# A PostgreSQL COPY TO block must hold at least one whole row.
_CSV_BLOCK_BYTES = 8 << 20


# --- errors -------------------------------------------------------------------------------------


class LoaderError(Exception):
    """Base class of everything this module raises on purpose."""


class UnsupportedType(LoaderError, TypeError):
    """An Arrow type, or a column type found in a database, that has no mapping here."""


class InvalidIdentifier(LoaderError, ValueError):
    """A table or column name the engine cannot hold as given."""


class SchemaMismatch(LoaderError):
    """A table exists with other columns than the ones asked for."""


class TableExists(LoaderError):
    """copy_between would append to a table that is already there (pass replace=True)."""


class ConnectionFailed(LoaderError):
    """The engine could not be reached or opened (the message never holds a password)."""


class LoadFailed(LoaderError):
    """The engine refused the data; the transaction was rolled back. ``__cause__`` has details."""


DUCKDB_LOCK_WAIT_SECONDS = 120

_DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    sqlite3.Error,
    duckdb.Error,
    psycopg.Error,
    pa.ArrowException,
)


# --- targets ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Target:
    """Where tables live: a SQLite or DuckDB file, or a PostgreSQL conninfo string or URL.

    The conninfo may carry a password; it comes from the caller (the app reads it from the
    environment) and never appears in ``repr()`` or error messages. Tables go to the
    connection's current schema: for PostgreSQL, set ``options=-csearch_path=...`` in the
    conninfo to choose another one.
    """

    kind: Kind
    location: str = dataclasses.field(repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown engine kind {self.kind!r}; expected one of {KINDS}")
        if not isinstance(self.location, str):  # a pathlib.Path, say
            object.__setattr__(self, "location", str(self.location))

    @classmethod
    def sqlite(cls, path: str | Path) -> Target:
        return cls("sqlite", str(path))

    @classmethod
    def duckdb(cls, path: str | Path) -> Target:
        return cls("duckdb", str(path))

    @classmethod
    def postgresql(cls, conninfo: str) -> Target:
        return cls("postgresql", conninfo)

    def describe(self) -> str:
        """The location without secrets, for logs and messages."""
        if self.kind != "postgresql":
            return self.location
        try:
            params = psycopg.conninfo.conninfo_to_dict(self.location)
        except psycopg.Error:
            return "<unparsable conninfo>"
        params.pop("password", None)
        return psycopg.conninfo.make_conninfo(**params)

    def __repr__(self) -> str:
        return f"Target({self.kind!r}, {self.describe()!r})"

    def connect(self) -> Any:
        """A new driver connection in autocommit mode; the caller closes it.

        sqlite3.Connection (isolation_level=None), duckdb.DuckDBPyConnection or
        psycopg.Connection (autocommit, UTF-8, ISO dates, exact float output).
        """
        return _ENGINES[self.kind].connect(self.location)


@dataclasses.dataclass(frozen=True)
class LoadResult:
    rows: int
    seconds: float
    deleted: int = 0
    """Rows removed by ``replace_where`` before the load (a re-delivered chunk's old copy)."""
    nan_as_null: int = 0
    """NaN values SQLite stored as NULL (always 0 for DuckDB and PostgreSQL)."""


# --- identifiers and types ----------------------------------------------------------------------


def _quote(name: str) -> str:
    # The SQL standard's quoting, which all three engines accept: never interpolate a bare name.
    return '"' + name.replace('"', '""') + '"'


def _quote_list(names: Sequence[str]) -> str:
    return ", ".join(_quote(n) for n in names)


def _check_names(kind: Kind, names: Sequence[str], what: str) -> None:
    seen: dict[str, str] = {}
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidIdentifier(f"{what}: empty or non-string name {name!r}")
        if "\x00" in name:
            raise InvalidIdentifier(f"{what}: name {name!r} contains a NUL character")
        if kind == "postgresql" and len(name.encode()) > 63:
            # PostgreSQL would silently cut it to 63 bytes; a later lookup would then miss it.
            raise InvalidIdentifier(f"{what}: name {name!r} is longer than PostgreSQL's 63 bytes")
        # SQLite and DuckDB compare identifiers case-insensitively even when quoted.
        key = name if kind == "postgresql" else name.lower()
        if key in seen:
            raise InvalidIdentifier(
                f"{what}: names {seen[key]!r} and {name!r} are the same identifier in {kind}"
            )
        seen[key] = name


def _index_name(table: str, columns: Sequence[str], suffix: str) -> str:
    name = "_".join([table, *columns, suffix])
    if len(name.encode()) <= 63:
        return name
    # Fits PostgreSQL's limit on every engine, stays unique per (table, columns).
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:10]
    return name.encode()[:40].decode(errors="ignore") + "_" + digest + "_" + suffix


def _storage_type(t: pa.DataType) -> pa.DataType:
    """The supported type a column of Arrow type ``t`` is stored as, or UnsupportedType."""
    if pa.types.is_dictionary(t):
        return _storage_type(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string(t) or _is_string_view(t):
        return pa.string()
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            raise UnsupportedType(f"{t}: store timestamps as UTC without a time zone")
        return TIMESTAMP
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_decimal128(t):
        if not (1 <= t.precision <= 38 and 0 <= t.scale <= t.precision):
            raise UnsupportedType(f"{t}: scale must be between 0 and the precision")
        return t
    if t in _SIMPLE_TYPES:
        return t
    raise UnsupportedType(
        f"Arrow type {t} has no mapping; supported: int16, int32, int64, float32, float64, "
        "decimal128, string, bool, date32, timestamp (no time zone)"
    )


def _is_string_view(t: pa.DataType) -> bool:
    check = getattr(pa.types, "is_string_view", None)  # pyarrow >= 16 has it; be defensive
    return bool(check and check(t))


_SIMPLE_TYPES = {
    pa.int16(),
    pa.int32(),
    pa.int64(),
    pa.float32(),
    pa.float64(),
    pa.string(),
    pa.bool_(),
    pa.date32(),
}

# Arrow type -> declared column type, per engine. SQLite names are chosen so that reading the
# declaration back gives the same Arrow type (INT is int32, INTEGER/BIGINT int64, FLOAT4 float32).
_SQL_TYPES: dict[pa.DataType, dict[Kind, str]] = {
    pa.int16(): {"postgresql": "SMALLINT", "duckdb": "SMALLINT", "sqlite": "SMALLINT"},
    pa.int32(): {"postgresql": "INTEGER", "duckdb": "INTEGER", "sqlite": "INT"},
    pa.int64(): {"postgresql": "BIGINT", "duckdb": "BIGINT", "sqlite": "BIGINT"},
    pa.float32(): {"postgresql": "REAL", "duckdb": "REAL", "sqlite": "FLOAT4"},
    pa.float64(): {"postgresql": "DOUBLE PRECISION", "duckdb": "DOUBLE", "sqlite": "DOUBLE"},
    pa.string(): {"postgresql": "TEXT", "duckdb": "VARCHAR", "sqlite": "TEXT"},
    pa.bool_(): {"postgresql": "BOOLEAN", "duckdb": "BOOLEAN", "sqlite": "BOOLEAN"},
    pa.date32(): {"postgresql": "DATE", "duckdb": "DATE", "sqlite": "DATE"},
    TIMESTAMP: {"postgresql": "TIMESTAMP", "duckdb": "TIMESTAMP", "sqlite": "TIMESTAMP"},
}


def sql_type(kind: Kind, arrow_type: pa.DataType) -> str:
    """The column type ``create_tables`` declares for ``arrow_type`` on engine ``kind``."""
    t = _storage_type(arrow_type)
    if pa.types.is_decimal128(t):
        name = "DECIMAL" if kind == "duckdb" else "NUMERIC"
        return f"{name}({t.precision},{t.scale})"
    return _SQL_TYPES[t][kind]


_DECIMAL_RE = re.compile(r"^(?:NUMERIC|DECIMAL)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$")
_CHAR_RE = re.compile(r"^(?:N?VARCHAR|CHARACTER VARYING|N?CHAR|CHARACTER)\s*(?:\(\s*\d+\s*\))?$")

# Declared or reported type (upper case) -> Arrow type, per engine; decimals are parsed apart.
_REFLECTED: dict[Kind, dict[str, pa.DataType]] = {
    "sqlite": {
        "SMALLINT": pa.int16(),
        "INT2": pa.int16(),
        "INT": pa.int32(),
        "INT4": pa.int32(),
        "MEDIUMINT": pa.int32(),
        # SQLite's INTEGER holds 64 bits: tables written by other tools rely on it.
        "INTEGER": pa.int64(),
        "BIGINT": pa.int64(),
        "INT8": pa.int64(),
        "FLOAT4": pa.float32(),
        "REAL": pa.float64(),
        "FLOAT": pa.float64(),
        "FLOAT8": pa.float64(),
        "DOUBLE": pa.float64(),
        "DOUBLE PRECISION": pa.float64(),
        "TEXT": pa.string(),
        "CLOB": pa.string(),
        "BOOLEAN": pa.bool_(),
        "BOOL": pa.bool_(),
        "DATE": pa.date32(),
        "TIMESTAMP": TIMESTAMP,
        "DATETIME": TIMESTAMP,
    },
    "duckdb": {
        "SMALLINT": pa.int16(),
        "INTEGER": pa.int32(),
        "BIGINT": pa.int64(),
        "FLOAT": pa.float32(),
        "REAL": pa.float32(),
        "DOUBLE": pa.float64(),
        "VARCHAR": pa.string(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "TIMESTAMP": TIMESTAMP,
    },
    "postgresql": {
        "SMALLINT": pa.int16(),
        "INTEGER": pa.int32(),
        "BIGINT": pa.int64(),
        "REAL": pa.float32(),
        "DOUBLE PRECISION": pa.float64(),
        "TEXT": pa.string(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "TIMESTAMP WITHOUT TIME ZONE": TIMESTAMP,
    },
}


def _reflected_type(
    kind: Kind, table: str, column: str, declared: str, precision: Any, scale: Any
) -> pa.DataType:
    name = " ".join(declared.upper().split())
    if kind == "postgresql" and name == "NUMERIC" and precision is not None:
        name = f"NUMERIC({precision},{scale or 0})"
    if match := _DECIMAL_RE.match(name):
        p, s = int(match.group(1)), int(match.group(2) or 0)
        if 1 <= p <= 38 and 0 <= s <= p:
            return pa.decimal128(p, s)
    elif found := _REFLECTED[kind].get(name):
        return found
    elif _CHAR_RE.match(name):
        return pa.string()
    raise UnsupportedType(f"{table}.{column}: {kind} type {declared!r} has no Arrow mapping")


def _normalize_table(data: pa.Table | pa.RecordBatch) -> pa.Table:
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    target = pa.schema([pa.field(f.name, _storage_type(f.type), f.nullable) for f in table.schema])
    if target.equals(table.schema):
        return table
    try:
        # Safe casts: a timestamp[ns] with nanoseconds fails here instead of losing them.
        return table.cast(target)
    except pa.ArrowInvalid as exc:
        raise LoaderError(
            f"cannot store the table's values as ({_describe(target)}): {exc}"
        ) from exc


def _normalize_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, _storage_type(f.type), f.nullable) for f in schema])


def _nullable(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.type) for f in schema])


def _same_columns(a: pa.Schema, b: pa.Schema, kind: Kind) -> bool:
    def key(name: str) -> str:
        return name if kind == "postgresql" else name.lower()

    return [(key(f.name), f.type) for f in a] == [(key(f.name), f.type) for f in b]


def _slices(table: pa.Table, rows: int | None) -> Iterator[pa.Table]:
    if rows is None or table.num_rows <= rows:
        yield table
        return
    for offset in range(0, table.num_rows, rows):
        yield table.slice(offset, rows)


def _rebatch(batches: Iterable[pa.RecordBatch | pa.Table], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``rows`` rows (the last one shorter) out of batches of any size."""
    pending: list[pa.Table] = []
    count = 0
    for item in batches:
        part = pa.Table.from_batches([item]) if isinstance(item, pa.RecordBatch) else item
        while part.num_rows:
            take = min(rows - count, part.num_rows)
            pending.append(part.slice(0, take))
            count += take
            part = part.slice(take)
            if count == rows:
                yield pa.concat_tables(pending).combine_chunks()
                pending, count = [], 0
    if count:
        yield pa.concat_tables(pending).combine_chunks()


# --- engines ------------------------------------------------------------------------------------


class _Engine(abc.ABC):
    """What differs between engines; the public functions below hold the workflow."""

    kind: ClassVar[Kind]
    param: ClassVar[str] = "?"
    load_batch_rows: ClassVar[int | None] = LOAD_BATCH_ROWS

    @abc.abstractmethod
    def connect(self, location: str) -> Any: ...

    @abc.abstractmethod
    def transaction(self, conn: Any) -> contextlib.AbstractContextManager[None]: ...

    def execute(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> None:
        conn.execute(sql, params)

    def query(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return conn.execute(sql, params).fetchall()

    @abc.abstractmethod
    def list_tables(self, conn: Any) -> list[str]: ...

    @abc.abstractmethod
    def columns(self, conn: Any, table: str) -> list[tuple[str, str, bool, Any, Any]]:
        """(name, declared type, nullable, numeric precision, numeric scale) per column."""

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
        self.execute(conn, f"ALTER TABLE {_quote(table)} ADD PRIMARY KEY ({_quote_list(columns)})")

    def create_index(
        self, conn: Any, table: str, columns: Sequence[str], *, unique: bool = False
    ) -> None:
        name = _index_name(table, columns, "key" if unique else "idx")
        kind = "UNIQUE INDEX" if unique else "INDEX"
        self.execute(
            conn, f"CREATE {kind} {_quote(name)} ON {_quote(table)} ({_quote_list(columns)})"
        )

    def find_table(self, conn: Any, name: str) -> str | None:
        """The stored spelling of table ``name``, or None."""
        key = name if self.kind == "postgresql" else name.lower()
        for existing in self.list_tables(conn):
            if (existing if self.kind == "postgresql" else existing.lower()) == key:
                return existing
        return None

    def reflect(self, conn: Any, table: str) -> pa.Schema:
        cols = self.columns(conn, table)
        if not cols:
            raise LoaderError(f"table {table!r} not found in {self.kind}")
        return pa.schema(
            [
                pa.field(name, _reflected_type(self.kind, table, name, decl, p, s), nullable)
                for name, decl, nullable, p, s in cols
            ]
        )

    def count(self, conn: Any, table: str) -> int:
        return int(self.query(conn, f"SELECT count(*) FROM {_quote(table)}")[0][0])  # noqa: S608 (quoted)

    def delete_where(self, conn: Any, table: str, column: str, value: Any) -> int:
        sql = f"DELETE FROM {_quote(table)} WHERE {_quote(column)} = {self.param}"  # noqa: S608 (quoted)
        return self._rowcount(conn, sql, [value])

    def _rowcount(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
        return int(conn.execute(sql, params).rowcount)

    def select_sql(self, table: str, names: Sequence[str]) -> str:
        return f"SELECT {_quote_list(names)} FROM {_quote(table)}"  # noqa: S608 (quoted)


class _SQLite(_Engine):
    kind = "sqlite"

    def connect(self, location: str) -> sqlite3.Connection:
        # Autocommit: transactions are explicit, so DDL takes part in them too.
        return sqlite3.connect(location, isolation_level=None, timeout=60)

    @contextlib.contextmanager
    def transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")  # take the write lock now, not halfway through
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def list_tables(self, conn: sqlite3.Connection) -> list[str]:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        ).fetchall()
        return sorted(r[0] for r in rows)  # Python's order: the same on every engine

    def columns(
        self, conn: sqlite3.Connection, table: str
    ) -> list[tuple[str, str, bool, Any, Any]]:
        rows = conn.execute(
            'SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid', [table]
        ).fetchall()
        return [(name, decl, not (notnull or pk), None, None) for name, decl, notnull, pk in rows]

    def bind(self, value: Any, arrow_type: pa.DataType) -> Any:
        if value is None:
            return None
        return _sqlite_values(pa.array([value], _storage_type(arrow_type)))[0]

    def write(
        self, conn: sqlite3.Connection, table: str, names: Sequence[str], parts: Iterable[pa.Table]
    ) -> int:
        marks = ", ".join("?" * len(names))
        sql = f"INSERT INTO {_quote(table)} ({_quote_list(names)}) VALUES ({marks})"  # noqa: S608 (quoted)
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
                yield pa.Table.from_arrays(arrays, schema=_nullable(schema))
        finally:
            cursor.close()


def _sqlite_values(column: pa.Array | pa.ChunkedArray) -> list[Any]:
    """Python values SQLite stores faithfully under the declared types of _SQL_TYPES."""
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


class _InformationSchema(_Engine):
    """Engines that describe themselves in the SQL standard's information_schema."""

    # DuckDB files attach other catalogs; PostgreSQL's information_schema shows only its own.
    catalog_filter: ClassVar[str] = ""

    def list_tables(self, conn: Any) -> list[str]:
        rows = self.query(
            conn,
            "SELECT table_name FROM information_schema.tables "  # noqa: S608 (class constants, no input)
            f"WHERE {self.catalog_filter}table_schema = current_schema() "
            "AND table_type = 'BASE TABLE'",
        )
        return sorted(r[0] for r in rows)  # Python's order: the same on every engine

    def columns(self, conn: Any, table: str) -> list[tuple[str, str, bool, Any, Any]]:
        rows = self.query(
            conn,
            "SELECT column_name, data_type, is_nullable, numeric_precision, numeric_scale "  # noqa: S608
            f"FROM information_schema.columns WHERE {self.catalog_filter}"
            f"table_schema = current_schema() AND table_name = {self.param} "
            "ORDER BY ordinal_position",
            [table],
        )
        return [(n, d, nullable == "YES", p, s) for n, d, nullable, p, s in rows]


class _DuckDB(_InformationSchema):
    kind = "duckdb"
    load_batch_rows = None  # one INSERT ... SELECT over the whole registered Arrow table
    catalog_filter = "table_catalog = current_database() AND "

    def connect(self, location: str) -> duckdb.DuckDBPyConnection:
        # One process at a time may open a DuckDB file for writing: workers of other
        # processes loading chunks wait for the lock rather than fail the chunk.
        deadline = time.monotonic() + DUCKDB_LOCK_WAIT_SECONDS
        delay = 0.05
        while True:
            try:
                return duckdb.connect(location)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    @contextlib.contextmanager
    def transaction(self, conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
        conn.begin()
        try:
            yield
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    def _rowcount(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
        # DuckDB answers a DELETE with one row holding the count.
        row = conn.execute(sql, params).fetchone()
        return int(row[0]) if row else 0

    def write(self, conn: Any, table: str, names: Sequence[str], parts: Iterable[pa.Table]) -> int:
        rows = 0
        for part in parts:
            view = f"__assay_load_{uuid.uuid4().hex}"
            conn.register(view, part)  # zero-copy: DuckDB scans the Arrow buffers
            try:
                cols = _quote_list(names)
                conn.execute(
                    f"INSERT INTO {_quote(table)} ({cols}) SELECT {cols} FROM {_quote(view)}"  # noqa: S608 (quoted)
                )
            finally:
                conn.unregister(view)
            rows += part.num_rows
        return rows

    def read(self, conn: Any, table: str, schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
        relation = conn.sql(self.select_sql(table, schema.names))
        # duckdb 1.4+ calls it to_arrow_reader; 1.1 has record_batch.
        make_reader = getattr(relation, "to_arrow_reader", None) or relation.record_batch
        read_schema = _nullable(schema)
        for part in _rebatch(make_reader(rows), rows):
            # VARCHAR may come back as string_view or large_string depending on settings.
            yield part.cast(read_schema)

    def add_primary_key(self, conn: Any, table: str, columns: Sequence[str]) -> None:
        if _duckdb_version() >= (1, 2):
            super().add_primary_key(conn, table, columns)
        else:  # ALTER TABLE ... ADD PRIMARY KEY arrived in DuckDB 1.2
            self.create_index(conn, table, columns, unique=True)


def _duckdb_version() -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", duckdb.__version__)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


class _PostgreSQL(_InformationSchema):
    kind = "postgresql"
    param = "%s"

    def connect(self, location: str) -> psycopg.Connection[Any]:
        conn = psycopg.connect(location, autocommit=True)
        # COPY's text depends on these session settings; pin them whatever the server's defaults:
        # UTF-8, ISO dates, and floats printed with enough digits to read back exactly.
        conn.execute("SET client_encoding TO 'UTF8'")
        conn.execute("SET DateStyle TO 'ISO, YMD'")
        conn.execute("SET extra_float_digits TO 3")
        return conn

    @contextlib.contextmanager
    def transaction(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        with conn.transaction():
            yield

    def write(self, conn: Any, table: str, names: Sequence[str], parts: Iterable[pa.Table]) -> int:
        # CSV, not binary: Arrow writes it in C++ (values never become Python objects), and
        # PostgreSQL's CSV keeps NULL (unquoted empty) apart from '' (quoted, as is every value
        # here), with tabs, newlines and backslashes taken literally inside quotes.
        sql = f"COPY {_quote(table)} ({_quote_list(names)}) FROM STDIN (FORMAT CSV)"
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
        sql = f"COPY {_quote(table)} ({_quote_list(schema.names)}) TO STDOUT (FORMAT CSV)"
        convert = pcsv.ConvertOptions(
            column_types=_nullable(schema),
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
            yield from _rebatch(reader, rows)


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


_ENGINES: dict[Kind, _Engine] = {
    "sqlite": _SQLite(),
    "duckdb": _DuckDB(),
    "postgresql": _PostgreSQL(),
}


@contextlib.contextmanager
def _connected(target: Target) -> Iterator[tuple[_Engine, Any]]:
    engine = _ENGINES[target.kind]
    try:
        conn = engine.connect(target.location)
    except _DRIVER_ERRORS as exc:
        raise ConnectionFailed(str(_failed("connecting", target, exc))) from exc
    try:
        yield engine, conn
    finally:
        conn.close()


def _failed(action: str, target: Target, exc: BaseException) -> LoadFailed:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return LoadFailed(f"{action} on {target.kind} {target.describe()}: {message}")


# --- creating tables ----------------------------------------------------------------------------


def _create_table(
    engine: _Engine,
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
        engine.execute(conn, f"DROP TABLE {_quote(existing)}")
    elif existing is not None:
        if not exists_ok:
            raise TableExists(f"table {name!r} already exists; pass replace=True to recreate it")
        found = engine.reflect(conn, existing)
        if not _same_columns(found, schema, engine.kind):
            raise SchemaMismatch(
                f"table {name!r} exists with columns ({_describe(found)}), "
                f"not ({_describe(schema)}); pass replace=True to recreate it"
            )
        return
    key = set(primary_key)

    def not_null(f: pa.Field) -> bool:
        # SQLite stores NaN as NULL: a float column declared NOT NULL would refuse NaN.
        nan_is_null = engine.kind == "sqlite" and pa.types.is_floating(f.type)
        return f.name in key or (not f.nullable and not nan_is_null)

    columns = [
        f"{_quote(f.name)} {sql_type(engine.kind, f.type)}" + (" NOT NULL" if not_null(f) else "")
        for f in schema
    ]
    if primary_key:
        columns.append(f"PRIMARY KEY ({_quote_list(primary_key)})")
    engine.execute(conn, f"CREATE TABLE {_quote(name)} ({', '.join(columns)})")


def _describe(schema: pa.Schema) -> str:
    return ", ".join(f"{f.name} {f.type}" for f in schema)


def _check_table_spec(
    kind: Kind, name: str, schema: pa.Schema, key_sets: Sequence[Sequence[str]]
) -> None:
    _check_names(kind, [name], "table")
    _check_names(kind, schema.names, f"table {name!r}")
    if not schema.names:
        raise InvalidIdentifier(f"table {name!r} has no columns")
    for columns in key_sets:
        if not columns:
            raise InvalidIdentifier(f"table {name!r}: an index or key needs at least one column")
        missing = [c for c in columns if c not in schema.names]
        if missing:
            raise InvalidIdentifier(f"table {name!r} has no column(s) {missing}")


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
    plan = {name: _normalize_schema(schema) for name, schema in schemas.items()}
    for name, schema in plan.items():
        key = list(primary_keys.get(name, ()))
        _check_table_spec(target.kind, name, schema, [key] if key else [])
    _check_names(target.kind, list(plan), "tables")
    with _connected(target) as (engine, conn):
        try:
            with engine.transaction(conn):
                for name, schema in plan.items():
                    _create_table(
                        engine,
                        conn,
                        name,
                        schema,
                        primary_keys.get(name, ()),
                        replace=replace,
                        exists_ok=True,
                    )
        except _DRIVER_ERRORS as exc:
            raise _failed("create_tables", target, exc) from exc


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
    table = _normalize_table(data)
    _check_names(target.kind, [table_name], "table")
    _check_names(target.kind, table.column_names, f"table {table_name!r}")
    if replace_where is not None:
        _check_chunk_rows(table, *replace_where)
    nan_as_null = _nan_count(table) if target.kind == "sqlite" else 0
    started = time.perf_counter()
    with _connected(target) as (engine, conn):
        try:
            with engine.transaction(conn):
                deleted = 0
                if replace_where is not None:
                    column, value = replace_where
                    bound = engine.bind(value, table.column(column).type)
                    deleted = engine.delete_where(conn, table_name, column, bound)
                rows = engine.write(
                    conn, table_name, table.column_names, _slices(table, engine.load_batch_rows)
                )
                if before_commit is not None:
                    before_commit(conn)
        except _DRIVER_ERRORS as exc:
            raise _failed(f"loading {table_name!r}", target, exc) from exc
    return LoadResult(
        rows=rows,
        seconds=time.perf_counter() - started,
        deleted=deleted,
        nan_as_null=nan_as_null,
    )


def delete_chunk(target: Target, table_name: str, chunk_column: str, chunk_id: Any) -> int:
    """Delete one chunk's rows (one transaction); returns how many there were."""
    with _connected(target) as (engine, conn):
        try:
            with engine.transaction(conn):
                schema = engine.reflect(conn, table_name)
                if chunk_column not in schema.names:
                    raise InvalidIdentifier(f"table {table_name!r} has no column {chunk_column!r}")
                bound = engine.bind(chunk_id, schema.field(chunk_column).type)
                return engine.delete_where(conn, table_name, chunk_column, bound)
        except _DRIVER_ERRORS as exc:
            raise _failed(f"deleting a chunk of {table_name!r}", target, exc) from exc


LEDGER_TABLE = "assay_loaded_chunks"
_LEDGER_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_quote(LEDGER_TABLE)} ("
    "dataset VARCHAR(200) NOT NULL, run VARCHAR(200) NOT NULL, chunk_id BIGINT NOT NULL, "
    "rows BIGINT NOT NULL, checksum VARCHAR(64) NOT NULL, PRIMARY KEY (run, chunk_id))"
)


@dataclasses.dataclass(frozen=True)
class ChunkLoad:
    loaded: bool
    """False when the ledger already held the chunk: a second delivery, nothing written."""
    rows: dict[str, int]
    seconds: float


def load_chunk(
    target: Target,
    dataset: str,
    run: str,
    chunk_id: int,
    tables: Mapping[str, pa.Table],
    *,
    checksum: str = "",
) -> ChunkLoad:
    """Load every table of one chunk in one transaction, at most once per (run, chunk).

    The ledger table ``assay_loaded_chunks`` in the target records (dataset, run, chunk_id,
    rows, checksum) in the same transaction as the rows: a chunk delivered twice (a worker that
    died after the commit, a duplicate task) finds its ledger row and writes nothing, and two
    deliveries at once serialize on the ledger's primary key. Tables need no chunk column.
    """
    _check_names(target.kind, list(tables), "tables")
    prepared = {name: _normalize_table(t) for name, t in tables.items()}
    for name, table in prepared.items():
        _check_names(target.kind, table.column_names, f"table {name!r}")
    started = time.perf_counter()
    with _connected(target) as (engine, conn):
        try:
            engine.execute(conn, _LEDGER_DDL)
            with engine.transaction(conn):
                p = engine.param
                claimed = engine._rowcount(
                    conn,
                    f"INSERT INTO {_quote(LEDGER_TABLE)} (dataset, run, chunk_id, rows, checksum) "  # noqa: S608 (constant)
                    f"VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING",
                    [dataset, run, chunk_id, sum(t.num_rows for t in prepared.values()), checksum],
                )
                if not claimed:
                    return ChunkLoad(False, {}, time.perf_counter() - started)
                rows = {
                    name: engine.write(
                        conn, name, table.column_names, _slices(table, engine.load_batch_rows)
                    )
                    for name, table in prepared.items()
                }
        except _DRIVER_ERRORS as exc:
            raise _failed(f"loading chunk {chunk_id}", target, exc) from exc
    return ChunkLoad(True, rows, time.perf_counter() - started)


def loaded_chunks(target: Target, run: str) -> dict[int, str]:
    """Chunks of ``run`` the ledger says are loaded, with their checksums."""
    with _connected(target) as (engine, conn):
        if engine.find_table(conn, LEDGER_TABLE) is None:
            return {}
        rows = engine.query(
            conn,
            f"SELECT chunk_id, checksum FROM {_quote(LEDGER_TABLE)} WHERE run = {engine.param}",  # noqa: S608 (constant)
            [run],
        )
        return {int(c): s for c, s in rows}


def forget_dataset(target: Target, dataset: str) -> int:
    """Drop the ledger's rows of ``dataset`` (its tables were dropped and created again)."""
    with _connected(target) as (engine, conn):
        if engine.find_table(conn, LEDGER_TABLE) is None:
            return 0
        try:
            with engine.transaction(conn):
                return engine._rowcount(
                    conn,
                    f"DELETE FROM {_quote(LEDGER_TABLE)} WHERE dataset = {engine.param}",  # noqa: S608 (constant)
                    [dataset],
                )
        except _DRIVER_ERRORS as exc:
            raise _failed("clearing the chunk ledger", target, exc) from exc


# --- copying between engines --------------------------------------------------------------------


def copy_between(
    source: Target,
    dest: Target,
    tables: Sequence[str] | None = None,
    *,
    batch_rows: int = 100_000,
    primary_keys: Mapping[str, Sequence[str]] | None = None,
    indexes: Mapping[str, Sequence[Sequence[str]]] | None = None,
    replace: bool = False,
    progress: ProgressCallback | None = None,
) -> dict[str, int]:
    """Copy tables (default: all of the source's) to ``dest``; returns rows copied per table.

    Per table, in one destination transaction: create it from the schema read back from the
    source, copy the rows in Arrow batches of at most ``batch_rows``, then add the primary key
    and the ``indexes`` (``{"t": [["a"], ["b", "c"]]}``) after the data, as Impala's
    data_generator did for its reference PostgreSQL. A table already on ``dest`` raises
    TableExists unless ``replace``. Source and destination must be different databases.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    primary_keys = primary_keys or {}
    indexes = indexes or {}
    copied: dict[str, int] = {}
    with _connected(source) as (src, sconn), _connected(dest) as (dst, dconn):
        names = list(tables) if tables is not None else _user_tables(src, sconn)
        unknown = (set(primary_keys) | set(indexes)) - set(names)
        if unknown:
            raise InvalidIdentifier(f"keys or indexes name tables not copied: {sorted(unknown)}")
        plans: list[tuple[str, str, pa.Schema]] = []
        for name in names:
            stored = src.find_table(sconn, name)
            if stored is None:
                raise LoaderError(f"table {name!r} not found on {source!r}")
            pk = list(primary_keys.get(name, ()))
            schema = src.reflect(sconn, stored)
            schema = pa.schema([f.with_nullable(f.nullable and f.name not in pk) for f in schema])
            key_sets = ([pk] if pk else []) + [list(cols) for cols in indexes.get(name, ())]
            _check_table_spec(dest.kind, name, schema, key_sets)
            plans.append((name, stored, schema))
        for name, stored, schema in plans:
            copied[name] = _copy_table(
                src, sconn, dst, dconn, name, stored, schema,
                batch_rows=batch_rows,
                primary_key=list(primary_keys.get(name, ())),
                indexes=[list(cols) for cols in indexes.get(name, ())],
                replace=replace,
                progress=progress,
                dest=dest,
            )  # fmt: skip
    return copied


def _copy_table(
    src: _Engine,
    sconn: Any,
    dst: _Engine,
    dconn: Any,
    name: str,
    stored: str,
    schema: pa.Schema,
    *,
    batch_rows: int,
    primary_key: list[str],
    indexes: list[list[str]],
    replace: bool,
    progress: ProgressCallback | None,
    dest: Target,
) -> int:
    total = src.count(sconn, stored)
    done = 0
    if progress is not None:
        progress(name, 0, total)

    def batches() -> Iterator[pa.Table]:
        nonlocal done
        for part in src.read(sconn, stored, schema, batch_rows):
            yield part
            done += part.num_rows  # the destination has taken the batch by now
            if progress is not None:
                progress(name, done, total)

    try:
        with dst.transaction(dconn):
            _create_table(dst, dconn, name, schema, (), replace=replace, exists_ok=False)
            rows = dst.write(dconn, name, schema.names, batches())
            # Keys and indexes after the data: one sort instead of a tree maintained per row.
            if primary_key:
                if dst.kind == "sqlite":  # SQLite cannot add a primary key to a table
                    dst.create_index(dconn, name, primary_key, unique=True)
                else:
                    dst.add_primary_key(dconn, name, primary_key)
            for columns in indexes:
                dst.create_index(dconn, name, columns)
    except _DRIVER_ERRORS as exc:
        raise _failed(f"copying {name!r}", dest, exc) from exc
    return rows


# --- reading back -------------------------------------------------------------------------------


def list_tables(target: Target) -> list[str]:
    """Base tables in the connection's current schema, sorted."""
    with _connected(target) as (engine, conn):
        return _user_tables(engine, conn)


def _user_tables(engine: _Engine, conn: Any) -> list[str]:
    # The chunk ledger is bookkeeping, not data: not listed, counted or copied.
    return [t for t in engine.list_tables(conn) if t != LEDGER_TABLE]


def table_schema(target: Target, table: str) -> pa.Schema:
    """The table's columns as Arrow types (the inverse of the mapping create_tables uses)."""
    with _connected(target) as (engine, conn):
        return engine.reflect(conn, table)


def read_table(target: Target, table: str, *, batch_rows: int = 100_000) -> pa.Table:
    """The whole table as Arrow, through the same readers copy_between uses. Rows unordered."""
    with _connected(target) as (engine, conn):
        schema = engine.reflect(conn, table)
        parts = list(engine.read(conn, table, schema, batch_rows))
    return pa.concat_tables(parts) if parts else _nullable(schema).empty_table()


def row_counts(target: Target) -> dict[str, int]:
    with _connected(target) as (engine, conn):
        return {name: engine.count(conn, name) for name in _user_tables(engine, conn)}


def table_checksum(
    target: Target, table: str, *, normalize_floats: bool = False, batch_rows: int = 100_000
) -> str:
    """A digest of the table's rows that ignores their order and the engine holding them.

    Order-free on purpose: engines sort NULLs and strings (collations) differently, so an
    ORDER BY would not give the same sequence everywhere. Each row is hashed from its values
    as Arrow reads them back; the row hashes are summed (a multiset hash, duplicates count).
    ``normalize_floats`` hashes NaN as NULL and -0.0 as 0.0: what a SQLite copy can hold.
    """
    with _connected(target) as (engine, conn):
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
