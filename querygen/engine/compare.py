"""Compare what the system under test (SUT) and the reference engine answered to one query.

Values are normalized before comparing, so that engines that agree in SQL terms compare equal:

- NULL equals NULL; NaN equals NaN; -0.0 equals 0.0; inf equals inf.
- int, Decimal and float are one numeric form (INT 3 = DECIMAL 3.00 = FLOAT 3.0). Two exact
  numbers (int, Decimal) must be equal; when either is a float they must be within
  ``math.isclose(rel_tol=float_rel_tol, abs_tol=float_abs_tol)``.
- Strings and bytes are exact (no trimming, no case folding).
- BOOL columns: True equals 1 and False equals 0 (SQLite has no booleans). In a column typed
  otherwise, a bool equals no number: an engine answering True for an INT is a finding.
- DATE / TIMESTAMP columns: dates, datetimes and ISO text ('YYYY-MM-DD',
  'YYYY-MM-DD HH:MM:SS[.ffffff]', with 'T' or ' ') compare as the moment they denote; a date
  equals the datetime at its midnight; aware datetimes compare in UTC.
- Without ``types`` (or past their end), a column's type is inferred from the values both sides
  put in it: a datetime makes it TIMESTAMP, a date DATE, a bool BOOL; anything else compares by
  the rules above per value.

Rows are compared as multisets, or, when ``ordered``, in order; with ``order_keys`` (the
positions of the ORDER BY columns) rows that tie on the keys may come in any order, so order is
checked across groups of tied keys and rows as multisets within a group.

Tolerant multiset matching: rows are first matched exactly on their normalized form (a hash
count). What is left is matched with tolerance within groups that agree exactly on everything
else (non-float columns; NULL, NaN and inf in float columns): pairs alone in their group are
checked at once; larger groups are walked as two sorted sequences (by the exact floats; then,
where a leading float column holds near-equal values, by the floats rounded to the tolerance's
significant digits), and what remains, when few (``_QUADRATIC_PAIRS`` pair checks in all), is
tried pair by pair. This finds every tolerant match for one float column; with several float
columns one can in principle be missed (near-equal values across rounding boundaries in more
than one column, in groups too big for the pair-by-pair pass), and is then reported as CONTENT.
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import partial
from itertools import chain, compress, repeat
from operator import is_, itemgetter, not_, or_
from typing import Any

from querygen.engine.model import Outcome, SqlType, Status

MAX_DIFF_ROWS = 50
_QUADRATIC_PAIRS = 20_000
_DETAIL_VALUE_CHARS = 160
_DETAIL_ERROR_CHARS = 200


class Kind(enum.Enum):
    MATCH = "match"
    ROW_COUNT = "row_count"  # different number of rows
    CONTENT = "content"  # same number of rows, different rows (or order)
    ERROR = "error"  # exactly one side refused the query
    BOTH_ERROR = "both_error"  # both refused: a query we should not have generated; counted
    CRASH = "crash"  # either side crashed
    TIMEOUT = "timeout"  # either side ran out of time
    TOO_BIG = "too_big"  # either side went over the row limit: abandoned, counted

    @property
    def finding(self) -> bool:
        """Whether this outcome points at a bug (rather than at the generator or the limits)."""
        return self in (Kind.ROW_COUNT, Kind.CONTENT, Kind.ERROR, Kind.CRASH)


class Side(enum.Enum):
    SUT = "sut"
    REF = "ref"
    BOTH = "both"


@dataclass(frozen=True)
class Comparison:
    """The verdict on one query.

    ``sut_only`` / ``ref_only`` are the rows of each side the other lacks (multiset difference,
    in each side's order, at most ``MAX_DIFF_ROWS``); the ``*_count`` fields give the full
    numbers. When an ordered result has the same rows in another order, they hold the rows at
    the positions out of place. ``first_diff`` is the 0-based position of the first differing
    row of an ordered comparison (the detail text counts from 1). ``side`` says which side
    refused, crashed, timed out or went over the limit.
    """

    kind: Kind
    detail: str
    side: Side | None = None
    sut_error: str = ""
    ref_error: str = ""
    sut_rows: int = 0
    ref_rows: int = 0
    sut_only: list[tuple[Any, ...]] = field(default_factory=list)
    ref_only: list[tuple[Any, ...]] = field(default_factory=list)
    sut_only_count: int = 0
    ref_only_count: int = 0
    first_diff: int | None = None

    @property
    def finding(self) -> bool:
        return self.kind.finding


def compare(
    sut: Outcome,
    ref: Outcome,
    *,
    types: Sequence[SqlType | None] | None = None,
    ordered: bool = False,
    order_keys: Sequence[int] | None = None,
    float_rel_tol: float = 1e-6,
    float_abs_tol: float = 1e-12,
) -> Comparison:
    """Compare two outcomes of one query. ``order_keys`` implies ``ordered``."""
    status = _compare_status(sut, ref)
    if status is not None:
        return status
    return _Rows(sut.rows, ref.rows, types, float_rel_tol, float_abs_tol).compare(
        ordered or order_keys is not None, order_keys
    )


# --- statuses -------------------------------------------------------------------------------


def _side(sut: bool, ref: bool) -> Side:
    return Side.BOTH if sut and ref else (Side.SUT if sut else Side.REF)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return _cut(line.strip(), _DETAIL_ERROR_CHARS)
    return ""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SIDE_NAMES = {Side.SUT: "SUT", Side.REF: "reference", Side.BOTH: "both"}


def _compare_status(sut: Outcome, ref: Outcome) -> Comparison | None:
    """The verdict when either side did not answer with rows; None when both did.

    A crash outranks a timeout, which outranks the row limit, which outranks a refusal: the
    rarer and more serious event names the finding.
    """
    for status, kind, verb in (
        (Status.CRASH, Kind.CRASH, "crashed"),
        (Status.TIMEOUT, Kind.TIMEOUT, "timed out"),
        (Status.TOO_BIG, Kind.TOO_BIG, "went over the row limit"),
    ):
        s, r = sut.status == status, ref.status == status
        if s or r:
            side = _side(s, r)
            who = "both" if side is Side.BOTH else _SIDE_NAMES[side]
            message = _first_line(sut.error if s else ref.error)
            detail = f"{who} {verb}" + (f": {message}" if message else "")
            return _status_verdict(kind, detail, side, sut, ref)
    s, r = sut.status == Status.ERROR, ref.status == Status.ERROR
    if s and r:
        detail = f"both refused: {_first_line(sut.error)} | {_first_line(ref.error)}"
        return _status_verdict(Kind.BOTH_ERROR, detail, Side.BOTH, sut, ref)
    if s or r:
        side = _side(s, r)
        message = _first_line(sut.error if s else ref.error)
        detail = f"{_SIDE_NAMES[side]} refused: {message}"
        return _status_verdict(Kind.ERROR, detail, side, sut, ref)
    return None


def _status_verdict(kind: Kind, detail: str, side: Side, sut: Outcome, ref: Outcome) -> Comparison:
    return Comparison(
        kind=kind,
        detail=detail,
        side=side,
        sut_error=sut.error,
        ref_error=ref.error,
        sut_rows=len(sut.rows),
        ref_rows=len(ref.rows),
    )


# --- normalization --------------------------------------------------------------------------


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


# --- tolerant equality ----------------------------------------------------------------------

_NUMBERS = (int, float, Decimal)


class _Tolerance:
    def __init__(self, rel: float, abs_: float) -> None:
        self.rel = rel
        self.abs = abs_
        # Significant digits the sort keys keep: as many as the tolerance resolves (1e-6 -> 6).
        digits = 17 if rel <= 0 else max(1, min(17, math.floor(-math.log10(rel))))
        self.fmt = f".{digits - 1}e"
        self.isclose = partial(math.isclose, rel_tol=rel, abs_tol=abs_)

    def close(self, a: Any, b: Any) -> bool:
        if a == b:
            return True
        if (type(a) is float or type(b) is float) and (
            isinstance(a, _NUMBERS) and isinstance(b, _NUMBERS)
        ):
            try:
                return math.isclose(float(a), float(b), rel_tol=self.rel, abs_tol=self.abs)
            except OverflowError:
                return False
        return False

    def values_close(self, a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
        return len(a) == len(b) and all(map(self.close, a, b))

    def items_close(self, a: _Item, b: _Item) -> bool:
        if a[3] or b[3]:
            return all(map(self.isclose, a[0], b[0]))
        return self.values_close(a[2], b[2])

    def rounded_keys(self, items: list[_Item]) -> list[tuple[Any, ...]]:
        """Sort keys that keep near-equal leading floats from ordering the columns after them:
        the leading floats rounded to the tolerance's significant digits (C-level formatting),
        the last one exact, then the whole vector to break ties."""
        vecs = list(map(_VEC, items))
        cols = list(zip(*vecs, strict=True))
        rounded = [list(map(float, map(format, col, repeat(self.fmt)))) for col in cols[:-1]]
        return list(zip(*rounded, cols[-1], vecs, strict=True))


def _finite(v: Any) -> float | None:
    """v as a float when it is a finite number (the values matched with tolerance)."""
    if type(v) is bool or not isinstance(v, _NUMBERS):
        return None
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def _tolerant_unmatched(
    sut: list[tuple[Any, ...]],
    ref: list[tuple[Any, ...]],
    s_idx: list[int],
    r_idx: list[int],
    tol: _Tolerance,
) -> tuple[list[int], list[int]]:
    """Match the rows left over by the exact count within tolerance; return what stays
    unmatched on each side (indices into ``sut`` and ``ref``).

    Works column by column with C-level builtins where it can: this is the path every row
    takes when two engines round floats differently."""
    if not s_idx or not r_idx:
        return s_idx, r_idx
    s_rows = [sut[i] for i in s_idx]
    r_rows = [ref[i] for i in r_idx]
    widths = set(map(len, s_rows)) | set(map(len, r_rows))
    if len(widths) != 1:
        return s_idx, r_idx
    width = widths.pop()
    s_cols, r_cols = list(zip(*s_rows, strict=True)), list(zip(*r_rows, strict=True))
    fuzzy = [
        c for c in range(width) if float in set(map(type, s_cols[c])) | set(map(type, r_cols[c]))
    ]
    if not fuzzy:
        return s_idx, r_idx
    exact = [c for c in range(width) if c not in fuzzy]
    s_side = _Leftovers(s_cols, exact, fuzzy, len(s_rows))
    r_side = _Leftovers(r_cols, exact, fuzzy, len(r_rows))

    s_single, s_multi = _group(s_side.keys)
    r_single, r_multi = _group(r_side.keys)
    left_s: list[int] = []
    left_r: list[int] = []
    # Keys with one row on each side (the usual case) pair up and are checked in bulk.
    s_pos: list[int] = []
    r_pos: list[int] = []
    for k, p in s_single.items():
        rp = r_single.get(k)
        if rp is not None:
            s_pos.append(p)
            r_pos.append(rp)
        elif k not in r_multi:
            left_s.append(p)
    left_r.extend(p for k, p in r_single.items() if k not in s_single and k not in s_multi)
    for k, ps in s_multi.items():
        if k not in r_single and k not in r_multi:
            left_s.extend(ps)
    for k, ps in r_multi.items():
        if k not in s_single and k not in s_multi:
            left_r.extend(ps)
    for ok, sp, rp in zip(
        _pairs_close(s_side, r_side, s_pos, r_pos, tol), s_pos, r_pos, strict=True
    ):
        if not ok:
            left_s.append(sp)
            left_r.append(rp)

    # Keys with several rows on a side: match float vectors within the group.
    pair_budget = _QUADRATIC_PAIRS
    for k in set(s_multi) | set(r_multi):
        ps = s_multi.get(k) or ([s_single[k]] if k in s_single else [])
        rs = r_multi.get(k) or ([r_single[k]] if k in r_single else [])
        if not ps or not rs:
            continue
        s_items, r_items = _sweep(s_side.items(ps), r_side.items(rs), tol, rounded=False)
        if s_items and r_items and len(fuzzy) > 1 and _near_ties(s_items + r_items, tol):
            # Near-equal leading floats must not decide the order of the columns after them.
            s_items, r_items = _sweep(s_items, r_items, tol, rounded=True)
        if s_items and r_items and len(s_items) * len(r_items) <= pair_budget:
            # A budget for the whole comparison, not per group: many groups of real
            # differences must not add up to millions of pair checks.
            pair_budget -= len(s_items) * len(r_items)
            s_items, r_items = _all_pairs(s_items, r_items, tol)
        left_s.extend(it[1] for it in s_items)
        left_r.extend(it[1] for it in r_items)
    return sorted(s_idx[p] for p in left_s), sorted(r_idx[p] for p in left_r)


class _Leftovers:
    """One side's leftover rows split for tolerant matching: per row, a group key of what must
    agree exactly (the non-float columns; in float columns, whatever is not a finite number,
    e.g. NULL, NaN, inf), the float-column values, and those values as floats."""

    def __init__(
        self, cols: list[tuple[Any, ...]], exact: list[int], fuzzy: list[int], n: int
    ) -> None:
        vec_cols: list[list[float]] = []
        rest_cols: list[Any] = []
        for c in fuzzy:
            vec, rest = _split_column(cols[c])
            vec_cols.append(vec)
            rest_cols.append(rest if rest is not None else repeat(_NUM, n))
        exact_part = zip(*(cols[c] for c in exact), strict=True) if exact else repeat((), n)
        self.keys: list[Any] = list(zip(exact_part, zip(*rest_cols, strict=True), strict=False))
        self.vecs: list[tuple[float, ...]] = list(zip(*vec_cols, strict=True))
        self.values: list[tuple[Any, ...]] = list(zip(*(cols[c] for c in fuzzy), strict=True))
        # Rows whose float-column values are all floats: every pair with them is a tolerance
        # check, so the float vectors decide alone.
        is_float = (list(map(is_, map(type, cols[c]), repeat(float))) for c in fuzzy)
        self.all_float: list[bool] = list(map(all, zip(*is_float, strict=True)))
        self._items: list[_Item] = list(
            zip(self.vecs, range(n), self.values, self.all_float, strict=True)
        )

    def items(self, positions: list[int]) -> list[_Item]:
        return list(map(self._items.__getitem__, positions))


def _split_column(col: tuple[Any, ...]) -> tuple[list[float], list[Any] | None]:
    """The finite numbers of a column as floats (0.0 elsewhere), and the other values with _NUM
    where the numbers were (None when all are finite numbers)."""
    if _NUMBER_TYPES.issuperset(map(type, col)):
        try:
            vec = list(map(float, col))
        except OverflowError:
            vec = []
        if len(vec) == len(col) and all(map(math.isfinite, vec)):
            return vec, None
    floats = list(map(_finite, col))
    rest = [v if f is None else _NUM for v, f in zip(col, floats, strict=True)]
    return [0.0 if f is None else f for f in floats], rest


_NUMBER_TYPES = frozenset(_NUMBERS)
# Stands for "a number, matched with tolerance" in group keys; distinct from NULL.
_NUM = _Marker("<num>")


def _group(keys: list[Any]) -> tuple[dict[Any, int], dict[Any, list[int]]]:
    """Positions by key: keys seen once, and keys seen more than once."""
    single = dict(zip(keys, range(len(keys)), strict=True))
    if len(single) == len(keys):
        return single, {}
    multi: dict[Any, list[int]] = {}
    for p, k in enumerate(keys):
        multi.setdefault(k, []).append(p)
    return {k: ps[0] for k, ps in multi.items() if len(ps) == 1}, {
        k: ps for k, ps in multi.items() if len(ps) > 1
    }


def _pairs_close(
    s_side: _Leftovers, r_side: _Leftovers, s_pos: list[int], r_pos: list[int], tol: _Tolerance
) -> list[bool]:
    """For each pair of rows (same group key), whether their float-column values are close."""
    if not s_pos:
        return []
    a_vals = list(chain.from_iterable(map(s_side.values.__getitem__, s_pos)))
    b_vals = list(chain.from_iterable(map(r_side.values.__getitem__, r_pos)))
    a_vecs = list(chain.from_iterable(map(s_side.vecs.__getitem__, s_pos)))
    b_vecs = list(chain.from_iterable(map(r_side.vecs.__getitem__, r_pos)))
    near = list(map(partial(math.isclose, rel_tol=tol.rel, abs_tol=tol.abs), a_vecs, b_vecs))
    # The tolerance is for pairs with a float; exact numbers (int, Decimal) must be equal.
    a_float = map(is_, map(type, a_vals), repeat(float))
    b_float = map(is_, map(type, b_vals), repeat(float))
    either = list(map(or_, a_float, b_float))
    if not all(either):
        for k in compress(range(len(either)), map(not_, either)):
            near[k] = a_vals[k] == b_vals[k]
    width = len(a_vals) // len(s_pos)
    ok = [True] * len(s_pos)
    for k in compress(range(len(near)), map(not_, near)):
        ok[k // width] = False
    return ok


# (floats to sort by, position, the float-column values, whether they are all floats)
_Item = tuple[tuple[float, ...], int, tuple[Any, ...], bool]


def _sweep(
    s_items: list[_Item],
    r_items: list[_Item],
    tol: _Tolerance,
    *,
    rounded: bool,
) -> tuple[list[_Item], list[_Item]]:
    """Two sorted sequences walked together: pair close neighbours, step past the smaller.
    For one float column this finds a tolerant matching whenever there is one."""

    if rounded:
        s_keys, r_keys = tol.rounded_keys(s_items), tol.rounded_keys(r_items)
    else:
        s_keys = list(map(_VEC, s_items))
        r_keys = list(map(_VEC, r_items))
    s_order = sorted(range(len(s_items)), key=s_keys.__getitem__)
    r_order = sorted(range(len(r_items)), key=r_keys.__getitem__)
    s_sorted = list(map(s_items.__getitem__, s_order))
    r_sorted = list(map(r_items.__getitem__, r_order))
    s_keys = list(map(s_keys.__getitem__, s_order))
    r_keys = list(map(r_keys.__getitem__, r_order))
    isclose, values_close = tol.isclose, tol.values_close
    i = j = 0
    ns, nr = len(s_sorted), len(r_sorted)
    left_s: list[_Item] = []
    left_r: list[_Item] = []
    while i < ns and j < nr:
        a, b = s_sorted[i], r_sorted[j]
        # Inlined items_close: this loop is the hot path of tolerant matching.
        if all(map(isclose, a[0], b[0])) if a[3] or b[3] else values_close(a[2], b[2]):
            i += 1
            j += 1
        elif s_keys[i] < r_keys[j]:
            left_s.append(a)
            i += 1
        else:
            left_r.append(b)
            j += 1
    left_s.extend(s_sorted[i:])
    left_r.extend(r_sorted[j:])
    return left_s, left_r


def _near_ties(items: list[_Item], tol: _Tolerance) -> bool:
    """Whether some leading float column holds two different values within tolerance of each
    other. Without such, matching rows agree exactly on the leading columns, so the exact
    sort already lines them up and a rounded sweep cannot add a match."""
    vecs = list(map(_VEC, items))
    for col in list(zip(*vecs, strict=True))[:-1]:
        distinct = sorted(set(col))
        if any(map(tol.isclose, distinct, distinct[1:])):
            return True
    return False


_VEC = itemgetter(0)


def _all_pairs(
    s_items: list[_Item], r_items: list[_Item], tol: _Tolerance
) -> tuple[list[_Item], list[_Item]]:
    free = list(r_items)
    left_s: list[_Item] = []
    for a in s_items:
        for k, b in enumerate(free):
            if tol.items_close(a, b):
                del free[k]
                break
        else:
            left_s.append(a)
    return left_s, free


def _multiset_unmatched(
    sut: list[tuple[Any, ...]], ref: list[tuple[Any, ...]], tol: _Tolerance
) -> tuple[list[int], list[int]]:
    """Indices of the normalized rows of each side that the other side lacks."""
    remaining = Counter(sut)
    if len(sut) == len(ref) and remaining == Counter(ref):
        return [], []
    r_left: list[int] = []
    get = remaining.get
    for i, row in enumerate(ref):
        n = get(row, 0)
        if n:
            remaining[row] = n - 1
        else:
            r_left.append(i)
    s_left: list[int] = []
    if len(sut) - len(ref) + len(r_left):
        for i, row in enumerate(sut):
            n = get(row, 0)
            if n:
                remaining[row] = n - 1
                s_left.append(i)
    return _tolerant_unmatched(sut, ref, s_left, r_left, tol)


# --- comparing rows -------------------------------------------------------------------------


def _key_getter(keys: list[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    if len(keys) > 1:
        return itemgetter(*keys)  # a tuple already, at C speed
    k = keys[0]
    return lambda row: (row[k],)


def _fmt(row: tuple[Any, ...]) -> str:
    return _cut(repr(tuple(row)), _DETAIL_VALUE_CHARS)


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


class _Rows:
    def __init__(
        self,
        sut: list[tuple[Any, ...]],
        ref: list[tuple[Any, ...]],
        types: Sequence[SqlType | None] | None,
        rel_tol: float,
        abs_tol: float,
    ) -> None:
        self.sut = [tuple(r) for r in sut]
        self.ref = [tuple(r) for r in ref]
        for name, rows in (("SUT", self.sut), ("reference", self.ref)):
            # Columns are normalized by position: ragged rows would be cut silently.
            if len(set(map(len, rows))) > 1:
                raise ValueError(f"the {name}'s rows do not all have the same number of columns")
        self.tol = _Tolerance(rel_tol, abs_tol)
        self.s_width = len(self.sut[0]) if self.sut else None
        self.r_width = len(self.ref[0]) if self.ref else None
        width = max(self.s_width or 0, self.r_width or 0)
        s_types = _column_types(self.sut, width)
        r_types = _column_types(self.ref, width)
        declared = list(types or [])
        fns = [
            _normalizer(
                declared[c] if c < len(declared) else None,
                (s_types[c] if c < len(s_types) else set())
                | (r_types[c] if c < len(r_types) else set()),
            )
            for c in range(width)
        ]
        self.sn = _normalize(self.sut, fns, s_types)
        self.rn = _normalize(self.ref, fns, r_types)

    def compare(self, ordered: bool, order_keys: Sequence[int] | None) -> Comparison:
        ns, nr = len(self.sut), len(self.ref)
        for width in (self.s_width, self.r_width):
            if order_keys and width is not None and any(not 0 <= k < width for k in order_keys):
                raise ValueError(
                    f"order_keys {list(order_keys)} out of range for rows of {width} columns"
                )
        if self.s_width is not None and self.r_width is not None and self.s_width != self.r_width:
            # Nothing lines up; every row of each side is one the other lacks.
            s_all, r_all = list(range(ns)), list(range(nr))
            kind = Kind.ROW_COUNT if ns != nr else Kind.CONTENT
            counts = f"{_rows(ns)} vs {_rows(nr)}, " if ns != nr else ""
            detail = f"{counts}{self.s_width} columns vs {self.r_width} columns"
            return self._verdict(kind, detail, s_all, r_all, 0 if ordered else None)
        if self.sn == self.rn:
            return self._verdict(Kind.MATCH, f"{_rows(ns)} match", [], [])
        s_left, r_left = _multiset_unmatched(self.sn, self.rn, self.tol)
        if ns != nr:
            detail = (
                f"{_rows(ns)} vs {_rows(nr)} "
                f"({len(s_left)} only in SUT, {len(r_left)} only in reference)"
            )
            return self._verdict(Kind.ROW_COUNT, detail, s_left, r_left)
        if not ordered:
            if not s_left and not r_left:
                return self._verdict(Kind.MATCH, f"{_rows(ns)} match", [], [])
            example = f"{_fmt(self.sut[s_left[0]])} vs {_fmt(self.ref[r_left[0]])}"
            detail = f"{len(s_left)} of {_rows(ns)} differ, e.g. {example}"
            return self._verdict(Kind.CONTENT, detail, s_left, r_left)

        positions = self._ordered_diffs(order_keys)
        if not s_left and not r_left:
            if not positions:
                return self._verdict(Kind.MATCH, f"{_rows(ns)} match", [], [])
            p = positions[0]
            detail = (
                f"same rows in another order: row {p + 1} is "
                f"{_fmt(self.sut[p])} vs {_fmt(self.ref[p])}"
            )
            return self._verdict(Kind.CONTENT, detail, positions, positions, p)
        p = positions[0] if positions else None
        if p is None:
            example = f"{_fmt(self.sut[s_left[0]])} vs {_fmt(self.ref[r_left[0]])}"
            detail = f"{len(s_left)} of {_rows(ns)} differ, e.g. {example}"
        else:
            detail = f"row {p + 1} differs: {_fmt(self.sut[p])} vs {_fmt(self.ref[p])}"
        return self._verdict(Kind.CONTENT, detail, s_left, r_left, p)

    def _ordered_diffs(self, order_keys: Sequence[int] | None) -> list[int]:
        """Positions where two equally long results disagree on order: row by row, or with
        order keys, on the keys row by row and on the rows as multisets within each run of
        tied keys."""
        sn, rn, tol = self.sn, self.rn, self.tol
        n = len(sn)
        if order_keys is None:
            return [i for i in range(n) if sn[i] != rn[i] and not tol.values_close(sn[i], rn[i])]
        keys = list(order_keys)
        if not keys:
            s_left, r_left = _multiset_unmatched(sn, rn, tol)
            return sorted(set(s_left) | set(r_left))

        getter = _key_getter(keys)
        diffs: list[int] = []
        start = 0
        while start < n:
            run_key = getter(sn[start])
            end = start + 1
            while end < n and getter(sn[end]) == run_key:
                end += 1
            keys_agree = True
            for p in range(start, end):
                rk = getter(rn[p])
                if rk != run_key and not tol.values_close(run_key, rk):
                    diffs.append(p)
                    keys_agree = False
            if keys_agree and sn[start:end] != rn[start:end]:
                s_left, r_left = _multiset_unmatched(sn[start:end], rn[start:end], tol)
                diffs.extend(start + i for i in sorted(set(s_left) | set(r_left)))
            start = end
        return sorted(diffs)

    def _verdict(
        self,
        kind: Kind,
        detail: str,
        s_left: list[int],
        r_left: list[int],
        first_diff: int | None = None,
    ) -> Comparison:
        return Comparison(
            kind=kind,
            detail=detail,
            sut_rows=len(self.sut),
            ref_rows=len(self.ref),
            sut_only=[self.sut[i] for i in s_left[:MAX_DIFF_ROWS]],
            ref_only=[self.ref[i] for i in r_left[:MAX_DIFF_ROWS]],
            sut_only_count=len(s_left),
            ref_only_count=len(r_left),
            first_diff=first_diff,
        )
