"""Where the loaders put tables (Target), what they raise, and which names they accept.

The facts of each engine (connecting, quoting, case folding) come from dbkinds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import dbkinds
from dbkinds import duckdb as duckdb_kind

Kind = Literal["sqlite", "duckdb", "postgresql"]
KINDS: tuple[Kind, ...] = ("sqlite", "duckdb", "postgresql")
"""The kinds the loaders read and write Arrow for (each needs its bulk paths in bulk.py)."""

_SHOWN: dict[Kind, str] = {"sqlite": "SQLite", "duckdb": "DuckDB", "postgresql": "PostgreSQL"}
# Read-only, kept importable: the wait is dbkinds.duckdb.LOCK_WAIT_SECONDS.
DUCKDB_LOCK_WAIT_SECONDS = duckdb_kind.LOCK_WAIT_SECONDS


# --- errors -------------------------------------------------------------------------------------


class LoaderError(Exception):
    """Base class of everything the loaders raise on purpose."""


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
        return dbkinds.get(self.kind).describe(self.location)

    def __repr__(self) -> str:
        return f"Target({self.kind!r}, {self.describe()!r})"

    def connect(self) -> Any:
        """A new driver connection in autocommit mode; the caller closes it.

        sqlite3.Connection (isolation_level=None), duckdb.DuckDBPyConnection or
        psycopg.Connection (autocommit, UTF-8, ISO dates, exact float output).
        """
        return dbkinds.get(self.kind).connect(self.location)


@dataclasses.dataclass(frozen=True)
class LoadResult:
    rows: int
    seconds: float
    deleted: int = 0
    """Rows removed by ``replace_where`` before the load (a re-delivered chunk's old copy)."""
    nan_as_null: int = 0
    """NaN values SQLite stored as NULL (always 0 for DuckDB and PostgreSQL)."""


# --- names --------------------------------------------------------------------------------------


def check_names(kind: Kind, names: Sequence[str], what: str) -> None:
    """Refuse names the engine would not keep apart or not keep whole."""
    db = dbkinds.get(kind)
    seen: dict[str, str] = {}
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidIdentifier(f"{what}: empty or non-string name {name!r}")
        if "\x00" in name:
            raise InvalidIdentifier(f"{what}: name {name!r} contains a NUL character")
        limit = db.MAX_IDENTIFIER_BYTES
        if limit is not None and len(name.encode()) > limit:
            # PostgreSQL would silently cut it; a later lookup would then miss it.
            raise InvalidIdentifier(
                f"{what}: name {name!r} is longer than {_SHOWN[kind]}'s {limit} bytes"
            )
        key = db.identifier_key(name)  # SQLite and DuckDB fold case even when quoted
        if key in seen:
            raise InvalidIdentifier(
                f"{what}: names {seen[key]!r} and {name!r} are the same identifier in {kind}"
            )
        seen[key] = name
