"""Comparing the rows two engines answered. Rows are compared as multisets, or, when
``ordered``, in order; with ``order_keys`` (the positions of the ORDER BY columns) rows that tie
on the keys may come in any order, so order is checked across groups of tied keys and rows as
multisets within a group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from querygen.engine.compare.multiset import _multiset_unmatched, _Tolerance
from querygen.engine.compare.normalize import _column_types, _normalize, _normalizer
from querygen.engine.compare.verdict import MAX_DIFF_ROWS, Comparison, Kind, _cut
from querygen.engine.model import SqlType

_DETAIL_VALUE_CHARS = 160


def _key_getter(keys: list[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    if len(keys) > 1:
        return itemgetter(*keys)  # a tuple already, at C speed
    k = keys[0]
    return lambda row: (row[k],)


def _fmt(row: tuple[Any, ...]) -> str:
    return _cut(repr(tuple(row)), _DETAIL_VALUE_CHARS)


_NOISE_ROWS = 1000  # rows one side lacks, past which float noise is not looked for


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
            if self._float_noise(s_left, r_left):
                detail = (
                    f"{_rows(ns)} vs {_rows(nr)}: rows that differ only in the last digits of "
                    "floats, kept apart on one side (DISTINCT, UNION, GROUP BY), as one on the "
                    "other: float noise"
                )
                return self._verdict(Kind.MATCH, detail, [], [])
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

    def _float_noise(self, s_left: list[int], r_left: list[int]) -> bool:
        """Whether every row one side lacks is, within the float tolerance, a row the other
        side has, and differs from it only in floats: an engine that sums floats in another
        order gets 0.30000000000000004 and 0.3 where the other gets 0.3 twice, and DISTINCT
        or UNION then keeps two rows where the other keeps one."""
        if not (s_left or r_left) or len(s_left) + len(r_left) > _NOISE_ROWS:
            return False
        close = self.tol.values_close
        for left, mine, other in ((s_left, self.sn, self.rn), (r_left, self.rn, self.sn)):
            for i in left:
                row = mine[i]
                if not any(f for f in row if type(f) is float):
                    return False  # no float in it: nothing it could be noise of
                # Near, not equal: a row the other side has once and this side twice, exactly,
                # is a difference of rows, not of floats.
                if not any(row != o and close(row, o) for o in other):
                    return False
        return True

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
