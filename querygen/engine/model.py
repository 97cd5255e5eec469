"""The shapes every part of the engine shares: column types, the schema both engines agree on,
and what running one query gave."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class SqlType(enum.Enum):
    """The logical types queries are typed by. Engine types map onto these (schema.py); a
    column whose engine type maps to none is left out of the tests."""

    INT = "int"  # any integer width: compared as Python ints
    FLOAT = "float"  # float32/float64
    DECIMAL = "decimal"  # exact numerics
    TEXT = "text"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"

    @property
    def numeric(self) -> bool:
        return self in (SqlType.INT, SqlType.FLOAT, SqlType.DECIMAL)


@dataclass(frozen=True)
class Column:
    name: str
    type: SqlType


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...]

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)


class Status(enum.Enum):
    OK = "ok"
    ERROR = "error"  # the engine refused the query (a SQL error)
    CRASH = "crash"  # the engine's process died, or an internal error / assertion
    TIMEOUT = "timeout"  # no answer within the time limit (the engine was interrupted)
    TOO_BIG = "too_big"  # the answer exceeded the row limit: abandoned, counted


@dataclass
class Outcome:
    """What one engine answered to one query."""

    status: Status
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == Status.OK
