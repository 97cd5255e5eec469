"""DuckDB: a database file, through the duckdb module (imported when a function needs it)."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

from dbkinds import base
from dbkinds.base import Column, ErrorKind, NeutralType

EMBEDDED = True
PARAM = "?"
MAX_IDENTIFIER_BYTES: int | None = None
LOCK_WAIT_SECONDS = 120
"""How long a writer waits for another process's hold on the file (one writer at a time)."""

# The database's own catalog: a file may ATTACH others, which information_schema shows too.
_CATALOG_FILTER = "table_catalog = current_database() AND "


def connect(location: str, *, read_only: bool = False) -> Any:
    """A duckdb connection (autocommit until ``begin()``).

    One process at a time may open a DuckDB file for writing: a writer waits up to
    LOCK_WAIT_SECONDS for the lock (workers of other processes loading chunks) rather than fail.
    """
    import duckdb

    if read_only:
        return duckdb.connect(location, read_only=True)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = 0.05
    while True:
        try:
            return duckdb.connect(location)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def describe(location: str) -> str:
    return location


def version(conn: Any) -> str:
    number, source = conn.execute(
        "SELECT library_version, source_id FROM pragma_version()"
    ).fetchone()
    return f"DuckDB {number} ({source})"


@contextlib.contextmanager
def transaction(conn: Any) -> Iterator[None]:
    conn.begin()
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def changed_rows(conn: Any, sql: str, params: Sequence[Any] = ()) -> int:
    """DuckDB answers an INSERT, UPDATE or DELETE with one row holding the count."""
    row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


quote = base.quote


def identifier_key(name: str) -> str:
    """DuckDB compares identifiers case-insensitively, even quoted ones."""
    return name.lower()


# --- types --------------------------------------------------------------------------------------

_NAMES = {**base.STANDARD_NAMES, base.FLOAT64: "DOUBLE", base.STRING: "VARCHAR"}
# information_schema's data_type -> exact type
_EXACT = {
    "SMALLINT": base.INT16,
    "INTEGER": base.INT32,
    "BIGINT": base.INT64,
    "FLOAT": base.FLOAT32,
    "REAL": base.FLOAT32,
    "DOUBLE": base.FLOAT64,
    "VARCHAR": base.STRING,
    "BOOLEAN": base.BOOLEAN,
    "DATE": base.DATE_TYPE,
    "TIMESTAMP": base.TIMESTAMP_TYPE,
}
# Names of no exact type here, by family: aliases and other widths. TIMESTAMP_NS is left out:
# Python's datetime drops the nanoseconds.
_OTHER_NAMES = {
    base.INT: (
        *("TINYINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"),
        *("INT1", "INT2", "INT4", "INT8", "INT", "INT128"),
    ),
    base.FLOAT: ("FLOAT4", "FLOAT8"),
    base.DECIMAL: ("DECIMAL", "NUMERIC"),
    base.TEXT: ("TEXT", "STRING", "CHAR", "BPCHAR"),
    base.BOOL: ("BOOL",),
    base.TIMESTAMP: ("TIMESTAMP WITHOUT TIME ZONE", "DATETIME", "TIMESTAMP_S", "TIMESTAMP_MS"),
}
# data_type without its arguments -> family
_FAMILIES = {name: t.family for name, t in _EXACT.items()}
_FAMILIES.update((name, family) for family, names in _OTHER_NAMES.items() for name in names)


def type_name(t: NeutralType) -> str:
    return base.named_type(t, _NAMES, "DECIMAL")


def column_type(
    declared: str, precision: int | None = None, scale: int | None = None
) -> NeutralType | None:
    """The exact type of an information_schema data_type (``DECIMAL(18,4)`` holds its own
    precision and scale), or None."""
    return base.parse_type(declared, _EXACT)


def type_family(declared: str) -> str | None:
    """The family of an information_schema data_type, or None (lists, structs, intervals...)."""
    return _FAMILIES.get(base.without_arguments(declared.strip().upper()))


# --- the catalog --------------------------------------------------------------------------------


def list_tables(conn: Any, *, include_ledger: bool = False) -> list[str]:
    """Base tables of the current schema of this file, sorted; datagen's ledger only if asked."""
    return base.information_schema_tables(conn, _CATALOG_FILTER, include_ledger)


def columns(conn: Any, table: str) -> list[Column]:
    return base.information_schema_columns(conn, table, _CATALOG_FILTER, PARAM)


def catalog(conn: Any) -> list[Column]:
    return base.information_schema_catalog(conn, _CATALOG_FILTER)


# --- errors -------------------------------------------------------------------------------------


def error_kind(exc: BaseException) -> ErrorKind:
    """INTERNAL for DuckDB's internal errors (failed assertions) and fatal errors."""
    import duckdb

    internal = _exception_types(duckdb, "InternalException", "FatalException")
    if isinstance(exc, internal) or str(exc).startswith(("INTERNAL Error", "FATAL Error")):
        return ErrorKind.INTERNAL
    if isinstance(exc, _exception_types(duckdb, "InterruptException")):
        return ErrorKind.INTERRUPTED
    return ErrorKind.ERROR


def _exception_types(module: Any, *names: str) -> tuple[type, ...]:
    """The named exception classes the installed duckdb has (older releases lack some)."""
    return tuple(t for t in (getattr(module, n, None) for n in names) if t)


def can_add_primary_key() -> bool:
    """ALTER TABLE ... ADD PRIMARY KEY arrived in DuckDB 1.2."""
    import duckdb

    match = re.match(r"(\d+)\.(\d+)", duckdb.__version__)
    return (int(match.group(1)), int(match.group(2))) >= (1, 2) if match else False
