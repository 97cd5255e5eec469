"""Column types: their names in a spec, their Arrow types, and the values a spec may give them."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa

from .errors import SpecError

SIMPLE_TYPES = ("int32", "int64", "float32", "float64", "string", "bool", "date", "timestamp")
TYPE_NAMES = (*SIMPLE_TYPES, "decimal(p,s)")
# Decimals keep their unscaled value in an int64, so 18 digits is the most we generate.
MAX_DECIMAL_PRECISION = 18
_DECIMAL_RE = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
EPOCH = dt.datetime(1970, 1, 1)
EPOCH_DATE = dt.date(1970, 1, 1)
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_NUMPY = {
    "int32": np.dtype(np.int32),
    "int64": np.dtype(np.int64),
    "float32": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
    "date": np.dtype(np.int32),  # days since 1970-01-01, Arrow's date32
    "timestamp": np.dtype(np.int64),  # microseconds since 1970-01-01, no time zone
    "decimal": np.dtype(np.int64),  # the unscaled value
}
_ARROW = {
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}


@dataclass(frozen=True)
class ColumnType:
    kind: str  # one of SIMPLE_TYPES, or "decimal"
    precision: int = 0
    scale: int = 0

    @property
    def name(self) -> str:
        if self.kind == "decimal":
            return f"decimal({self.precision},{self.scale})"
        return self.kind

    @property
    def arrow(self) -> pa.DataType:
        if self.kind == "decimal":
            return pa.decimal128(self.precision, self.scale)
        return _ARROW[self.kind]

    @property
    def numpy(self) -> np.dtype:
        """The dtype generators build this type's values in (unscaled for decimals)."""
        return _NUMPY[self.kind]

    @property
    def is_int(self) -> bool:
        return self.kind in INT_RANGES

    @property
    def is_float(self) -> bool:
        return self.kind in ("float32", "float64")

    def __str__(self) -> str:
        return self.name


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' when a choice is close to the word, else ''."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def parse_type(raw: Any, path: str) -> ColumnType:
    if not isinstance(raw, str):
        raise SpecError(path, f"must be a type name, one of {', '.join(TYPE_NAMES)}")
    text = raw.strip().lower()
    if text in SIMPLE_TYPES:
        return ColumnType(text)
    match = _DECIMAL_RE.match(text)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if not 1 <= precision <= MAX_DECIMAL_PRECISION:
            raise SpecError(
                path, f"decimal precision must be 1..{MAX_DECIMAL_PRECISION}, not {precision}"
            )
        if scale > precision:
            raise SpecError(path, f"decimal scale {scale} is larger than precision {precision}")
        return ColumnType("decimal", precision, scale)
    hint = suggest(text, [*SIMPLE_TYPES, "decimal"])
    raise SpecError(path, f"unknown type '{raw}'{hint}; types are {', '.join(TYPE_NAMES)}")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float(value: Any, path: str) -> float:
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "+inf", "-inf"):
        return float(value)  # JSON has no NaN or Infinity literals
    if not is_number(value):
        raise SpecError(path, f"must be a number, not {value!r}")
    return float(value)


def coerce_value(ctype: ColumnType, value: Any, path: str) -> Any:
    """A spec's literal as the Python value Arrow takes for `ctype`; None stays None (NULL)."""
    if value is None:
        return None
    kind = ctype.kind
    if kind in INT_RANGES:
        if not isinstance(value, int) or isinstance(value, bool):
            raise SpecError(path, f"must be an integer for type {kind}, not {value!r}")
        low, high = INT_RANGES[kind]
        if not low <= value <= high:
            raise SpecError(path, f"{value} is outside the range of {kind} ({low}..{high})")
        return value
    if kind in ("float32", "float64"):
        number = _float(value, path)
        if kind == "float32" and math.isfinite(number) and abs(number) > np.finfo(np.float32).max:
            raise SpecError(path, f"{value} is outside the range of float32")
        return number
    if kind == "decimal":
        return _decimal(ctype, value, path)
    if kind == "string":
        if not isinstance(value, str):
            # YAML reads unquoted yes/no/on/off as booleans: say so, it is the usual cause.
            hint = " (quote it: YAML reads yes/no/on/off as booleans)" if value in (0, 1) else ""
            raise SpecError(path, f"must be a string, not {value!r}{hint}")
        if "\x00" in value:
            raise SpecError(path, "strings cannot hold NUL characters (PostgreSQL refuses them)")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise SpecError(path, f"must be true or false, not {value!r}")
        return value
    if kind == "date":
        return parse_date(value, path)
    return parse_timestamp(value, path)


def _decimal(ctype: ColumnType, value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SpecError(path, f"must be a number for type {ctype.name}, not {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise SpecError(path, f"must be a number for type {ctype.name}, not {value!r}") from None
    if not number.is_finite():
        raise SpecError(path, f"{ctype.name} has no NaN or infinity")
    quantum = Decimal(1).scaleb(-ctype.scale)
    if number != number.quantize(quantum):
        raise SpecError(path, f"{value} has more than {ctype.scale} decimal places")
    if abs(number.scaleb(ctype.scale)) > 10**ctype.precision - 1:
        raise SpecError(path, f"{value} does not fit in {ctype.name}")
    return number.quantize(quantum)


def parse_date(value: Any, path: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise SpecError(path, f"must be a date (YYYY-MM-DD), not a timestamp {value!r}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise SpecError(path, f"must be a date as YYYY-MM-DD, not {value!r}")


def parse_timestamp(value: Any, path: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise SpecError(
                path, f"must be a timestamp as 'YYYY-MM-DD HH:MM:SS[.ffffff]', not {value!r}"
            ) from None
    else:
        raise SpecError(path, f"must be a timestamp, not {value!r}")
    if stamp.tzinfo is not None:
        # Columns hold UTC without a zone; an aware value is moved to UTC, never guessed at.
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return stamp


def date_to_days(value: dt.date) -> int:
    return (value - EPOCH_DATE).days


def timestamp_to_micros(value: dt.datetime) -> int:
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def decimal_to_unscaled(ctype: ColumnType, value: Decimal) -> int:
    return int(value.scaleb(ctype.scale))


def to_numeric(ctype: ColumnType, value: Any) -> int | float:
    """A coerced value in the numpy representation generators compute in."""
    if ctype.kind == "date":
        return date_to_days(value)
    if ctype.kind == "timestamp":
        return timestamp_to_micros(value)
    if ctype.kind == "decimal":
        return decimal_to_unscaled(ctype, value)
    return value


# The values that break engines, per type: extremes, signed zeros, NaN and infinities, empty and
# odd strings. A column's `special_values` fraction draws from its type's list.
_LONG_STRING = "long " * 200
STRING_SPECIALS = (
    "",
    " ",
    "NULL",
    "null",
    "\\N",
    "0",
    "ü",
    "日本語のテキスト",
    "🦆",
    "e\u0301",  # e + combining acute: two code points, one glyph
    "שלום",  # right-to-left
    "\u200b",  # zero-width space
    "a\tb",
    "line one\nline two",
    "carriage\r\nreturn",
    'quote"d',
    "it's",
    "back\\slash",
    "comma, separated",
    "%_ like wildcards",
    "  padded  ",
    _LONG_STRING.strip(),
)


def special_values(ctype: ColumnType) -> list[Any]:
    kind = ctype.kind
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        return [low, high, low + 1, high - 1, 0, -1, 1]
    if kind in ("float32", "float64"):
        info = np.finfo(np.float32 if kind == "float32" else np.float64)
        big, tiny = float(info.max), float(info.smallest_normal)
        subnormal = float(info.smallest_subnormal)
        return [
            math.nan,
            math.inf,
            -math.inf,
            big,
            -big,
            tiny,
            -tiny,
            subnormal,
            0.0,
            -0.0,
            1.0,
        ]
    if kind == "decimal":
        top = Decimal(10**ctype.precision - 1).scaleb(-ctype.scale)
        step = Decimal(1).scaleb(-ctype.scale)
        return [top, -top, Decimal(0).quantize(step), step, -step]
    if kind == "string":
        return list(STRING_SPECIALS)
    if kind == "bool":
        return [True, False]
    if kind == "date":
        return [
            dt.date(1, 1, 1),
            dt.date(9999, 12, 31),
            dt.date(1970, 1, 1),
            dt.date(1969, 12, 31),
            dt.date(2000, 2, 29),
            dt.date(1900, 1, 1),
        ]
    return [
        dt.datetime(1, 1, 1),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
        dt.datetime(1970, 1, 1),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
        dt.datetime(2038, 1, 19, 3, 14, 8),  # one second past 32-bit time
        dt.datetime(2000, 2, 29, 12, 0, 0),
    ]
