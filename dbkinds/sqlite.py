"""SQLite: a database file, through the standard library's sqlite3."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dbkinds import base
from dbkinds.base import Column, ErrorKind, NeutralType

EMBEDDED = True
PARAM = "?"
MAX_IDENTIFIER_BYTES: int | None = None
BUSY_TIMEOUT_SECONDS = 60  # a writer waits this long for another one's lock


def connect(location: str, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit, so DDL takes part in them).

    read_only: opened ``mode=ro`` with ``query_only`` (which covers ATTACHed files and temp
    tables too), usable from another thread than the one that opened it (one at a time), and
    checked to be a database now rather than at the first query.
    """
    if not read_only:
        return sqlite3.connect(location, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
    uri = Path(location).absolute().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()  # fails on a non-db
    except BaseException:
        conn.close()
        raise
    return conn


def describe(location: str) -> str:
    return location


def version(conn: sqlite3.Connection) -> str:
    number, source = conn.execute("SELECT sqlite_version(), sqlite_source_id()").fetchone()
    return f"SQLite {number} ({source[:30]})"


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")  # take the write lock now, not halfway through
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def changed_rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> int:
    return int(conn.execute(sql, params).rowcount)


quote = base.quote


def identifier_key(name: str) -> str:
    """SQLite compares identifiers case-insensitively, even quoted ones."""
    return name.lower()


# --- types --------------------------------------------------------------------------------------

# Chosen so that reading a declaration back gives the same type (INT is 32 bits, INTEGER and
# BIGINT 64, FLOAT4 32): SQLite itself keeps only the name.
_NAMES = {
    **base.STANDARD_NAMES,
    base.INT32: "INT",
    base.FLOAT32: "FLOAT4",
    base.FLOAT64: "DOUBLE",
    base.STRING: "TEXT",
}
_EXACT = {
    "SMALLINT": base.INT16,
    "INT2": base.INT16,
    "INT": base.INT32,
    "INT4": base.INT32,
    "MEDIUMINT": base.INT32,
    # SQLite's INTEGER holds 64 bits: tables written by other tools rely on it.
    "INTEGER": base.INT64,
    "BIGINT": base.INT64,
    "INT8": base.INT64,
    "FLOAT4": base.FLOAT32,
    "REAL": base.FLOAT64,
    "FLOAT": base.FLOAT64,
    "FLOAT8": base.FLOAT64,
    "DOUBLE": base.FLOAT64,
    "DOUBLE PRECISION": base.FLOAT64,
    "TEXT": base.STRING,
    "CLOB": base.STRING,
    "BOOLEAN": base.BOOLEAN,
    "BOOL": base.BOOLEAN,
    "DATE": base.DATE_TYPE,
    "TIMESTAMP": base.TIMESTAMP_TYPE,
    "DATETIME": base.TIMESTAMP_TYPE,
}
# Names whose meaning goes beyond SQLite's affinity: the ones datagen's loaders declare.
_FAMILY_NAMES = {
    "BOOLEAN": base.BOOL,
    "BOOL": base.BOOL,
    "DATE": base.DATE,
    "TIMESTAMP": base.TIMESTAMP,
    "DATETIME": base.TIMESTAMP,
    "NUMERIC": base.DECIMAL,
    "DECIMAL": base.DECIMAL,
}


def type_name(t: NeutralType) -> str:
    return base.named_type(t, _NAMES, "NUMERIC")


def column_type(
    declared: str, precision: int | None = None, scale: int | None = None
) -> NeutralType | None:
    """The exact type of a declared one (the inverse of type_name), or None."""
    return base.parse_type(declared, _EXACT)


def type_family(declared: str) -> str | None:
    """The family values of a column declared so are compared as, or None.

    The names datagen's loaders write (BOOLEAN, DATE, TIMESTAMP, NUMERIC(p,s)) keep their
    meaning; everything else follows SQLite's affinity rules (datatype3.html, 3.1), in order.
    """
    upper = declared.strip().upper()
    named = _FAMILY_NAMES.get(base.without_arguments(upper))
    if named is not None:
        return named
    if "INT" in upper:
        return base.INT
    if "CHAR" in upper or "CLOB" in upper or "TEXT" in upper:
        return base.TEXT
    if "BLOB" in upper or not upper:
        return None
    if "REAL" in upper or "FLOA" in upper or "DOUB" in upper:
        return base.FLOAT
    return None  # NUMERIC affinity under another name (JSON, UUID, ...): no single family


# --- the catalog --------------------------------------------------------------------------------


def list_tables(conn: sqlite3.Connection, *, include_ledger: bool = False) -> list[str]:
    """The database's tables (not SQLite's own), sorted; datagen's ledger only if asked."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    ).fetchall()
    return base.user_tables([r[0] for r in rows], include_ledger)


def _column(table: str, name: str, declared: Any, notnull: int, pk: int, cid: int) -> Column:
    # A primary-key column is NOT NULL in effect (datagen declares it so on every kind).
    return Column(table, name, str(declared), not (notnull or pk), cid + 1)


def columns(conn: sqlite3.Connection, table: str) -> list[Column]:
    """The table's columns in order (SQLite finds the table whatever the case of ``table``)."""
    rows = conn.execute(
        'SELECT name, type, "notnull", pk, cid FROM pragma_table_info(?) ORDER BY cid', [table]
    ).fetchall()
    return [_column(table, *row) for row in rows]


def catalog(conn: sqlite3.Connection) -> list[Column]:
    """Every column of every user table, in one query."""
    rows = conn.execute(
        'SELECT m.name, p.name, p.type, p."notnull", p.pk, p.cid FROM sqlite_master AS m '
        "JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table' "
        "AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    ).fetchall()
    return base.in_catalog_order(_column(*row) for row in rows)


# --- errors -------------------------------------------------------------------------------------

# Primary result codes: the engine or its file is broken, not the statement.
_INTERNAL_CODES = (2, 11, 26)  # SQLITE_INTERNAL, SQLITE_CORRUPT, SQLITE_NOTADB
_INTERRUPT = 9  # SQLITE_INTERRUPT


def error_kind(exc: BaseException) -> ErrorKind:
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    message = str(exc).lower()
    if isinstance(code, int):
        internal, interrupted = code & 0xFF in _INTERNAL_CODES, code & 0xFF == _INTERRUPT
    else:
        internal = "malformed" in message or "internal" in message or "not a database" in message
        interrupted = message == "interrupted"
    if internal:
        return ErrorKind.INTERNAL
    return ErrorKind.INTERRUPTED if interrupted else ErrorKind.ERROR


def can_add_primary_key() -> bool:
    """SQLite cannot add a primary key to an existing table (a unique index stands in)."""
    return False
