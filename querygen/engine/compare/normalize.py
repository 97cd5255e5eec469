"""Values are normalized before comparing, so that engines that agree in SQL terms compare
equal:

- NULL equals NULL; NaN equals NaN; -0.0 equals 0.0; inf equals inf.
- int, Decimal and float are one numeric form (INT 3 = DECIMAL 3.00 = FLOAT 3.0). Two exact
  numbers (int, Decimal) must be equal; when either is a float they must be within
  ``math.isclose(rel_tol=float_rel_tol, abs_tol=float_abs_tol)`` (matched in multiset.py).
- Strings and bytes are exact (no trimming, no case folding).
- BOOL columns: True equals 1 and False equals 0 (SQLite has no booleans). In a column typed
  otherwise, a bool equals no number: an engine answering True for an INT is a finding.
- DATE / TIMESTAMP columns: dates, datetimes and ISO text ('YYYY-MM-DD',
  'YYYY-MM-DD HH:MM:SS[.ffffff]', with 'T' or ' ') compare as the moment they denote; a date
  equals the datetime at its midnight; aware datetimes compare in UTC.
- Without ``types`` (or past their end), a column's type is inferred from the values both sides
  put in it: a datetime makes it TIMESTAMP, a date DATE, a bool BOOL; anything else compares by
  the rules above per value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from querygen.engine.model import SqlType


class _Marker:
    """A value equal only to itself (by identity) and hashable: the one NaN, which unlike
    float('nan') must equal itself, and placeholders in keys."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_NAN = _Marker("NaN")
_TAGGED_BOOL = "bool"
_MIDNIGHT = time(0)


def _generic(v: Any) -> Any:
    t = type(v)
    if t is float:
        return _NAN if v != v else v
    if t is Decimal:
        return _NAN if v.is_nan() else v
    if t is list or t is tuple:
        return ("list", *map(_generic, v))
    if t is dict:
        return ("dict", *((k, _generic(x)) for k, x in v.items()))
    if t is bytearray or t is memoryview:
        return bytes(v)
    return v


def _strict_bool(v: Any) -> Any:
    # A bool in a non-BOOL column must not equal 1 (Python's True == 1 would say it does).
    return (_TAGGED_BOOL, v) if type(v) is bool else _generic(v)


def _naive_utc(v: datetime) -> datetime:
    return v if v.tzinfo is None else v.astimezone(UTC).replace(tzinfo=None)


def _timestamp(v: Any) -> Any:
    t = type(v)
    if t is str:
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            return v
        t = datetime
    if t is datetime:
        return _naive_utc(v)
    if t is date:
        return datetime(v.year, v.month, v.day)
    return _strict_bool(v)


def _date(v: Any) -> Any:
    t = type(v)
    if t is str:
        try:
            return date.fromisoformat(v)
        except ValueError:
            pass
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            return v
        t = datetime
    if t is datetime:
        v = _naive_utc(v)
        return v.date() if v.time() == _MIDNIGHT else v
    if t is date:
        return v
    return _strict_bool(v)


_NEEDS_GENERIC = {float, Decimal, list, tuple, dict, bytearray, memoryview}


def _normalizer(declared: SqlType | None, present: set[type]) -> Callable[[Any], Any] | None:
    """The function normalizing one column, or None when its values are already normal."""
    kind = declared
    if kind is None:
        if datetime in present:
            kind = SqlType.TIMESTAMP
        elif date in present:
            kind = SqlType.DATE
        elif bool in present:
            kind = SqlType.BOOL
    if kind is SqlType.TIMESTAMP:
        return _timestamp
    if kind is SqlType.DATE:
        return _date
    # BOOL, or untyped without bools: Python's True == 1 and hash(True) == hash(1) already
    # give the SQL answer.
    if kind is not None and kind is not SqlType.BOOL and bool in present:
        return _strict_bool
    return _generic if present & _NEEDS_GENERIC else None


def _column_types(rows: list[tuple[Any, ...]], width: int) -> list[set[type]]:
    return [set(map(type, col)) for col in zip(*rows, strict=False)] or [set()] * width


def _has_nan(col: Sequence[Any], present: set[type]) -> bool:
    """Whether _generic would change anything in this column; at C speed when it can tell."""
    kinds = present - {type(None)}
    if kinds == {float}:
        return any(map(math.isnan, filter(None, col)))
    if kinds == {Decimal}:
        return any(map(Decimal.is_nan, filter(None, col)))
    return bool(kinds & _NEEDS_GENERIC)


def _normalize(
    rows: list[tuple[Any, ...]],
    fns: list[Callable[[Any], Any] | None],
    present: list[set[type]],
) -> list[tuple[Any, ...]]:
    if not any(fns) or not rows:
        return rows
    cols = list(zip(*rows, strict=False))
    changed = False
    for c, fn in enumerate(fns):
        if fn is None or c >= len(cols):
            continue
        if fn is _generic and not _has_nan(cols[c], present[c]):
            continue
        cols[c] = list(map(fn, cols[c]))
        changed = True
    return list(zip(*cols, strict=False)) if changed else rows
