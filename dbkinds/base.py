"""The shape every kind module shares, and the catalog helpers of the kinds that describe
themselves in the SQL standard's information_schema (DuckDB, PostgreSQL).

Standard library only, Python 3.8 syntax: querygen's worker imports this in another
interpreter (see dbkinds/__init__.py).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LEDGER_TABLE = "assay_loaded_chunks"
"""datagen's chunk ledger, kept in the loaded database: bookkeeping, never listed as data."""

INTERFACE = (
    "EMBEDDED",
    "PARAM",
    "MAX_IDENTIFIER_BYTES",
    "connect",
    "describe",
    "version",
    "transaction",
    "changed_rows",
    "quote",
    "identifier_key",
    "type_name",
    "column_type",
    "type_family",
    "list_tables",
    "columns",
    "catalog",
    "error_kind",
    "can_add_primary_key",
)
"""The names every kind module defines (tests/dbkinds/test_base.py holds them to it)."""


# --- types --------------------------------------------------------------------------------------

# The families are querygen's SqlType values: what a value is compared as.
INT, FLOAT, DECIMAL, TEXT, BOOL, DATE, TIMESTAMP = (
    "int",
    "float",
    "decimal",
    "text",
    "bool",
    "date",
    "timestamp",
)
FAMILIES = (INT, FLOAT, DECIMAL, TEXT, BOOL, DATE, TIMESTAMP)


@dataclass(frozen=True)
class NeutralType:
    """A column type apart from any engine: its family and, where the family has them, the
    width in bits (int 16/32/64, float 32/64) or the precision and scale (decimal)."""

    family: str
    bits: int | None = None
    precision: int | None = None
    scale: int | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown type family {self.family!r}; expected one of {FAMILIES}")


INT16 = NeutralType(INT, 16)
INT32 = NeutralType(INT, 32)
INT64 = NeutralType(INT, 64)
FLOAT32 = NeutralType(FLOAT, 32)
FLOAT64 = NeutralType(FLOAT, 64)
STRING = NeutralType(TEXT)
BOOLEAN = NeutralType(BOOL)
DATE_TYPE = NeutralType(DATE)
TIMESTAMP_TYPE = NeutralType(TIMESTAMP)  # microseconds, no time zone


# The SQL standard's names; each kind says where it differs (the standard has no unbounded
# string type).
STANDARD_NAMES = {
    INT16: "SMALLINT",
    INT32: "INTEGER",
    INT64: "BIGINT",
    FLOAT32: "REAL",
    FLOAT64: "DOUBLE PRECISION",
    BOOLEAN: "BOOLEAN",
    DATE_TYPE: "DATE",
    TIMESTAMP_TYPE: "TIMESTAMP",
}


def decimal(precision: int, scale: int) -> NeutralType:
    return NeutralType(DECIMAL, precision=precision, scale=scale)


_DECIMAL_RE = re.compile(r"^(?:NUMERIC|DECIMAL)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$")
_CHAR_RE = re.compile(r"^(?:N?VARCHAR|CHARACTER VARYING|N?CHAR|CHARACTER)\s*(?:\(\s*\d+\s*\))?$")


_ARGUMENTS_RE = re.compile(r"\s*\(.*\)\s*$")


def without_arguments(name: str) -> str:
    """A type name without its trailing ``(precision, scale)`` or ``(length)``."""
    return _ARGUMENTS_RE.sub("", name)


def normalized(declared: str) -> str:
    """A declared type in upper case with single spaces: how the type maps look names up."""
    return " ".join(declared.upper().split())


def parse_type(declared: str, names: Mapping[str, NeutralType]) -> NeutralType | None:
    """The exact type of a declared one: NUMERIC/DECIMAL(p[,s]), one of ``names`` (upper
    case), or a character type; None for anything else."""
    name = normalized(declared)
    match = _DECIMAL_RE.match(name)
    if match:
        return decimal(int(match.group(1)), int(match.group(2) or 0))
    if name in names:
        return names[name]
    if _CHAR_RE.match(name):
        return STRING
    return None


def named_type(t: NeutralType, names: Mapping[NeutralType, str], decimal_name: str) -> str:
    """The declared type of ``t``: from a kind's ``names``, or ``decimal_name(p,s)``."""
    if t.family == DECIMAL:
        return f"{decimal_name}({t.precision},{t.scale})"
    try:
        return names[t]
    except KeyError:
        raise ValueError(f"no type name for {t}") from None


# --- identifiers --------------------------------------------------------------------------------


def quote(name: str) -> str:
    """The SQL standard's quoting, which every kind accepts: never interpolate a bare name."""
    return '"' + name.replace('"', '""') + '"'


# --- errors -------------------------------------------------------------------------------------


class ErrorKind(enum.Enum):
    """What a driver's exception says about the engine (callers map it to their own states)."""

    INTERNAL = "internal"  # the engine failed: an assertion, corruption, a server going down
    INTERRUPTED = "interrupted"  # the statement was cancelled (a timeout, an interrupt)
    ERROR = "error"  # the statement's own fault: syntax, types, constraints


# --- the catalog --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column as the engine's catalog describes it."""

    table: str
    name: str
    declared: str  # the type as the catalog spells it ('' for an untyped SQLite column)
    nullable: bool
    position: int  # from 1, in the table's order
    precision: int | None = None
    scale: int | None = None


def user_tables(names: Sequence[str], include_ledger: bool) -> list[str]:
    """Table names sorted in Python's order (the same on every engine), without the ledger."""
    return sorted(n for n in names if include_ledger or n != LEDGER_TABLE)


def in_catalog_order(columns: Iterable[Column], include_ledger: bool = False) -> list[Column]:
    """Columns of user tables (the ledger only if asked), tables sorted as ``user_tables``
    sorts them and each table's columns in their order."""
    kept = [c for c in columns if include_ledger or c.table != LEDGER_TABLE]
    return sorted(kept, key=lambda c: (c.table, c.position))


def information_schema_tables(conn: Any, catalog_filter: str, include_ledger: bool) -> list[str]:
    """Base tables of the current schema; ``catalog_filter`` ("... AND ") narrows further."""
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables "  # noqa: S608 (constants, no input)
        f"WHERE {catalog_filter}table_schema = current_schema() AND table_type = 'BASE TABLE'",
        (),
    ).fetchall()
    return user_tables([r[0] for r in rows], include_ledger)


def information_schema_catalog(conn: Any, catalog_filter: str) -> list[Column]:
    """Every column of every base table of the current schema, in one query (a catalog is
    read when every run opens its engines, and a query per table adds up on a server)."""
    rows = conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable, ordinal_position, "  # noqa: S608 (constants)
        "numeric_precision, numeric_scale FROM information_schema.columns "
        f"WHERE {catalog_filter}table_schema = current_schema() AND table_name IN ("
        "SELECT table_name FROM information_schema.tables "
        f"WHERE {catalog_filter}table_schema = current_schema() AND table_type = 'BASE TABLE')",
        (),
    ).fetchall()
    return in_catalog_order(
        Column(table, name, str(declared), nullable == "YES", int(position), precision, scale)
        for table, name, declared, nullable, position, precision, scale in rows
    )


def information_schema_columns(
    conn: Any, table: str, catalog_filter: str, param: str
) -> list[Column]:
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable, ordinal_position, numeric_precision, "  # noqa: S608 (constants)
        f"numeric_scale FROM information_schema.columns WHERE {catalog_filter}"
        f"table_schema = current_schema() AND table_name = {param} ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [
        Column(table, name, str(declared), nullable == "YES", int(position), precision, scale)
        for name, declared, nullable, position, precision, scale in rows
    ]
