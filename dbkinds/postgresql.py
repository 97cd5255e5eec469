"""PostgreSQL: a server, through psycopg 3 (imported when a function needs it).

A location is a libpq conninfo string or URL; it may carry a password, so ``describe`` is what
may be shown of it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dbkinds import base
from dbkinds.base import Column, ErrorKind, NeutralType

EMBEDDED = False
PARAM = "%s"
MAX_IDENTIFIER_BYTES: int | None = 63
"""PostgreSQL silently cuts longer names to 63 bytes: a later lookup would then miss them."""

# Read-write sessions load and read back through COPY, whose text depends on these: pinned to
# UTF-8, ISO dates and floats printed with enough digits to read back exactly.
_READ_WRITE_SESSION = (
    "SET client_encoding TO 'UTF8'",
    "SET DateStyle TO 'ISO, YMD'",
    "SET extra_float_digits TO 3",
)
_READ_ONLY_SESSION = (
    "SET default_transaction_read_only = on",
    "SET client_encoding = 'UTF8'",
)
_QUERY_CANCELED = "57014"  # statement_timeout, or a cancel request


def connect(location: str, *, read_only: bool = False) -> Any:
    """A psycopg connection.

    Read-write: autocommit (transactions are explicit). read_only: every transaction is
    opened with BEGIN READ ONLY and the session defaults to read-only transactions; autocommit
    is off, so roll back after each statement and none of its SETs outlives it.
    """
    import psycopg

    conn = psycopg.connect(location, autocommit=True)
    try:
        for statement in _READ_ONLY_SESSION if read_only else _READ_WRITE_SESSION:
            conn.execute(statement)
    except BaseException:
        conn.close()
        raise
    if read_only:
        conn.autocommit = False
        conn.read_only = True
    return conn


def conninfo_params(location: str) -> dict[str, str]:
    """The conninfo's parameters; ValueError (which never quotes it) when it does not parse."""
    import psycopg
    import psycopg.conninfo

    try:
        return psycopg.conninfo.conninfo_to_dict(location)
    except psycopg.Error:
        # The parser's message quotes the conninfo, password included: not repeated here.
        raise ValueError(
            "invalid PostgreSQL conninfo (not shown: it may hold a password)"
        ) from None


# libpq's parameters that hold a secret: a description leaves them out.
SECRET_PARAMS = ("password", "sslpassword")


def describe(location: str) -> str:
    """The conninfo without its secrets, for logs and messages."""
    import psycopg.conninfo

    try:
        params = conninfo_params(location)
    except ValueError:
        return "<unparsable conninfo>"
    for name in SECRET_PARAMS:
        params.pop(name, None)
    # A dbname may be a whole conninfo or URL (libpq expands it), password included.
    if "=" in params.get("dbname", "") or "://" in params.get("dbname", ""):
        params["dbname"] = "<conninfo>"
    return psycopg.conninfo.make_conninfo(**params)


def conninfo(params: Mapping[str, object]) -> str:
    """A libpq connection string of ``params`` (empty values left out), every value quoted."""
    return " ".join(f"{key}='{_libpq_quote(str(value))}'" for key, value in params.items() if value)


def _libpq_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def version(conn: Any) -> str:
    return f"PostgreSQL {conn.execute('SHOW server_version').fetchall()[0][0]}"


@contextlib.contextmanager
def transaction(conn: Any) -> Iterator[None]:
    with conn.transaction():
        yield


def changed_rows(conn: Any, sql: str, params: Sequence[Any] = ()) -> int:
    return int(conn.execute(sql, params).rowcount)


quote = base.quote


def identifier_key(name: str) -> str:
    """PostgreSQL keeps the case of quoted identifiers: "T" and "t" are two tables."""
    return name


# --- types --------------------------------------------------------------------------------------

_NAMES = {**base.STANDARD_NAMES, base.STRING: "TEXT"}
# information_schema's data_type (upper case) -> exact type; numeric's precision comes apart.
_EXACT = {
    "SMALLINT": base.INT16,
    "INTEGER": base.INT32,
    "BIGINT": base.INT64,
    "REAL": base.FLOAT32,
    "DOUBLE PRECISION": base.FLOAT64,
    "TEXT": base.STRING,
    "BOOLEAN": base.BOOLEAN,
    "DATE": base.DATE_TYPE,
    "TIMESTAMP WITHOUT TIME ZONE": base.TIMESTAMP_TYPE,
}
# data_type as the catalog spells it -> family: every exact type's, and the ones of no width.
_FAMILIES = {name.lower(): t.family for name, t in _EXACT.items()}
_FAMILIES.update({"numeric": base.DECIMAL, "character varying": base.TEXT, "character": base.TEXT})


def type_name(t: NeutralType) -> str:
    return base.named_type(t, _NAMES, "NUMERIC")


def column_type(
    declared: str, precision: int | None = None, scale: int | None = None
) -> NeutralType | None:
    """The exact type of an information_schema data_type with its numeric_precision and
    numeric_scale (a bare ``numeric`` has neither: no exact type), or None."""
    if base.normalized(declared) == "NUMERIC" and precision is not None:
        return base.decimal(int(precision), int(scale or 0))
    return base.parse_type(declared, _EXACT)


def type_family(declared: str) -> str | None:
    """The family of an information_schema data_type, or None."""
    return _FAMILIES.get(declared.strip().lower())


# --- the catalog --------------------------------------------------------------------------------


def list_tables(conn: Any, *, include_ledger: bool = False) -> list[str]:
    """Base tables of the current schema (``search_path``), sorted; the ledger only if asked."""
    return base.information_schema_tables(conn, "", include_ledger)


def columns(conn: Any, table: str) -> list[Column]:
    return base.information_schema_columns(conn, table, "", PARAM)


def catalog(conn: Any) -> list[Column]:
    return base.information_schema_catalog(conn, "")


# --- errors -------------------------------------------------------------------------------------


def error_kind(exc: BaseException) -> ErrorKind:
    """By SQLSTATE: class XX (internal_error, data_corrupted, index_corrupted) and 57P (the
    server shutting down) are INTERNAL, 57014 (query_canceled) INTERRUPTED."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate == _QUERY_CANCELED:
        return ErrorKind.INTERRUPTED
    if sqlstate.startswith(("XX", "57P")):
        return ErrorKind.INTERNAL
    return ErrorKind.ERROR


def can_add_primary_key() -> bool:
    return True
