"""Tolerant multiset matching: rows are first matched exactly on their normalized form (a hash
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

import math
from collections import Counter
from decimal import Decimal
from functools import partial
from itertools import chain, compress, repeat
from operator import is_, itemgetter, not_, or_
from typing import Any

from querygen.engine.compare.normalize import _Marker

_QUADRATIC_PAIRS = 20_000
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
