"""What the comparison's tests share: one outcome of rows, and comparing two results or two
values."""

from __future__ import annotations

from typing import Any

from querygen.engine.compare import Comparison, Kind, compare
from querygen.engine.model import Outcome, Status

Row = tuple[Any, ...]


def ok(*rows: Row | list[Any]) -> Outcome:
    return Outcome(Status.OK, columns=[], rows=[tuple(r) for r in rows])


def cmp(sut: list[Row], ref: list[Row], **kwargs: Any) -> Comparison:
    return compare(ok(*sut), ok(*ref), **kwargs)


def same(a: Any, b: Any, **kwargs: Any) -> bool:
    """Whether one value on each side compares equal (one row, one column)."""
    return cmp([(a,)], [(b,)], **kwargs).kind is Kind.MATCH
