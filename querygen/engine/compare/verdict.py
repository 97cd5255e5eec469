"""The verdict on one query: its kind, which side it concerns, and the rows each side lacks;
and how its detail text is kept short.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

MAX_DIFF_ROWS = 50


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


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
