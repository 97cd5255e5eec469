"""``compare``: two outcomes of one query, first by their statuses (a crash, a timeout, the
row limit, a refusal), then, when both answered with rows, by their rows (rows.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from querygen.engine.compare.rows import _Rows
from querygen.engine.compare.verdict import Comparison, Kind, Side, _cut
from querygen.engine.model import Outcome, SqlType, Status

_DETAIL_ERROR_CHARS = 200


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


def _side(sut: bool, ref: bool) -> Side:
    return Side.BOTH if sut and ref else (Side.SUT if sut else Side.REF)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return _cut(line.strip(), _DETAIL_ERROR_CHARS)
    return ""


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
