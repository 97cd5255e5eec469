"""compare(): verdicts, value normalization, tolerant multisets, ordered results with ties."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from querygen.engine.compare import MAX_DIFF_ROWS, Comparison, Kind, Side, compare
from querygen.engine.model import Outcome, SqlType, Status

Row = tuple[Any, ...]


def ok(*rows: Row | list[Any]) -> Outcome:
    return Outcome(Status.OK, columns=[], rows=[tuple(r) for r in rows])


def cmp(sut: list[Row], ref: list[Row], **kwargs: Any) -> Comparison:
    return compare(ok(*sut), ok(*ref), **kwargs)


def same(a: Any, b: Any, **kwargs: Any) -> bool:
    """Whether one value on each side compares equal (one row, one column)."""
    return cmp([(a,)], [(b,)], **kwargs).kind is Kind.MATCH


# --- kinds ----------------------------------------------------------------------------------


def test_match_and_counts() -> None:
    c = cmp([(1, "a"), (2, "b")], [(2, "b"), (1, "a")])
    assert c.kind is Kind.MATCH and not c.finding
    assert (c.sut_rows, c.ref_rows, c.sut_only, c.ref_only) == (2, 2, [], [])
    assert c.detail == "2 rows match"
    assert cmp([], []).kind is Kind.MATCH


def test_row_count() -> None:
    c = cmp([(1,), (2,), (3,)], [(1,), (2,), (3,), (4,)])
    assert c.kind is Kind.ROW_COUNT and c.finding
    assert c.detail.startswith("3 rows vs 4 rows")
    assert (c.sut_only, c.ref_only) == ([], [(4,)])
    assert (c.sut_rows, c.ref_rows, c.sut_only_count, c.ref_only_count) == (3, 4, 0, 1)
    # An empty side is a row count difference too.
    c = cmp([], [(1,)])
    assert c.kind is Kind.ROW_COUNT and c.detail.startswith("0 rows vs 1 row")


def test_content() -> None:
    c = cmp([(1, "a"), (2, "b")], [(1, "a"), (2, "c")])
    assert c.kind is Kind.CONTENT and c.finding
    assert (c.sut_only, c.ref_only) == ([(2, "b")], [(2, "c")])
    assert c.detail == "1 of 2 rows differ, e.g. (2, 'b') vs (2, 'c')"
    assert "\n" not in c.detail


def test_content_when_the_widths_differ() -> None:
    c = cmp([(1, 2)], [(1,)])
    assert c.kind is Kind.CONTENT and "2 columns vs 1 columns" in c.detail
    assert (c.sut_only, c.ref_only) == ([(1, 2)], [(1,)])


@pytest.mark.parametrize("side", [Side.SUT, Side.REF])
def test_error_on_one_side(side: Side) -> None:
    refused = Outcome(Status.ERROR, error="Binder Error: no such column x\nLINE 1: ...")
    sut, ref = (refused, ok((1,))) if side is Side.SUT else (ok((1,)), refused)
    c = compare(sut, ref)
    assert c.kind is Kind.ERROR and c.side is side and c.finding
    assert (c.sut_error, c.ref_error) == (sut.error, ref.error)
    who = "SUT" if side is Side.SUT else "reference"
    assert c.detail == f"{who} refused: Binder Error: no such column x"


def test_both_refused_is_not_a_finding() -> None:
    c = compare(Outcome(Status.ERROR, error="e1"), Outcome(Status.ERROR, error="e2"))
    assert c.kind is Kind.BOTH_ERROR and c.side is Side.BOTH and not c.finding
    assert (c.sut_error, c.ref_error) == ("e1", "e2")
    assert c.detail == "both refused: e1 | e2"


@pytest.mark.parametrize(
    ("status", "kind", "finding"),
    [
        (Status.CRASH, Kind.CRASH, True),
        (Status.TIMEOUT, Kind.TIMEOUT, False),
        (Status.TOO_BIG, Kind.TOO_BIG, False),
    ],
)
def test_crash_timeout_too_big(status: Status, kind: Kind, finding: bool) -> None:
    bad = Outcome(status, error="boom")
    for sut, ref, side in (
        (bad, ok((1,)), Side.SUT),
        (ok((1,)), bad, Side.REF),
        (bad, bad, Side.BOTH),
    ):
        c = compare(sut, ref)
        assert (c.kind, c.side, c.finding) == (kind, side, finding)
    assert compare(bad, ok()).detail.startswith("SUT ")


def test_the_more_serious_status_names_the_verdict() -> None:
    crash = Outcome(Status.CRASH, error="segfault")
    timeout = Outcome(Status.TIMEOUT)
    error = Outcome(Status.ERROR, error="nope")
    too_big = Outcome(Status.TOO_BIG)
    assert compare(error, crash).kind is Kind.CRASH
    assert compare(crash, error).side is Side.SUT
    assert compare(timeout, error).kind is Kind.TIMEOUT
    assert compare(timeout, crash).kind is Kind.CRASH
    assert compare(too_big, error).kind is Kind.TOO_BIG


# --- values ---------------------------------------------------------------------------------


def test_null_equals_null_and_nothing_else() -> None:
    assert same(None, None)
    for other in (0, 0.0, "", "NULL", False, float("nan")):
        assert not same(None, other), other


def test_null_is_not_a_number_in_a_float_column() -> None:
    # The tolerant pass puts numbers and NULLs of one column in different groups.
    c = cmp([(None, "a"), (1.0, "b")], [(0.0, "a"), (1.0 + 1e-12, "b")])
    assert c.kind is Kind.CONTENT
    assert (c.sut_only, c.ref_only) == ([(None, "a")], [(0.0, "a")])


def test_float_tolerance() -> None:
    assert same(1.0, 1.0 + 1e-7)  # 1e-7 relative apart: equal
    assert not same(1.0, 1.001)  # 1e-3 apart: not
    assert same(1e300, 1e300 * (1 + 1e-7))
    # At the relative tolerance's edge, either side of it.
    assert same(1e6, 1e6 * (1 + 0.9e-6))
    assert not same(1e6, 1e6 * (1 + 1.1e-6))
    # Near zero the absolute tolerance decides.
    assert same(1e-13, -1e-13)
    assert not same(1e-9, -1e-9)
    # The tolerances are parameters.
    assert not same(1.0, 1.0 + 1e-7, float_rel_tol=1e-9)
    assert same(1.0, 1.01, float_rel_tol=0.1)


def test_floats_straddling_a_rounding_boundary_match() -> None:
    # Rounded to 6 significant digits these two fall on either side of 1.00000|5; a hash of
    # rounded values alone would call them different.
    a, b = 1.000005 - 1e-12, 1.000005 + 1e-12
    assert format(a, ".5e") != format(b, ".5e")
    assert same(a, b)
    assert cmp([(a, "x"), (2.0, "y")], [(2.0, "y"), (b, "x")]).kind is Kind.MATCH
    # Straddling in the leading column of two float columns, rows crossing over.
    assert cmp([(a, 2.0), (b, 1.0)], [(b, 2.0), (a, 1.0)]).kind is Kind.MATCH
    # The same in bulk, in one group, shuffled.
    rng = random.Random(1)
    sut = [(1.000005 - k * 1e-13,) for k in range(1, 300)]
    ref = [(1.000005 + k * 1e-13,) for k in range(1, 300)]
    rng.shuffle(ref)
    assert cmp(sut, ref).kind is Kind.MATCH


def test_near_equal_leading_floats_do_not_decide_the_order_of_the_rest() -> None:
    # Rows pair up through the second column; sorting by the exact first one would cross them.
    assert cmp([(1.0, 2.0), (1.0000001, 1.0)], [(1.0000001, 2.0), (1.0, 1.0)]).kind is Kind.MATCH
    n = 500  # beyond the all-pairs fallback: the rounded sweep must do it
    sut = [(1.0 + i * 1e-9, float(i)) for i in range(n)]
    ref = [(1.0 + (n - 1 - i) * 1e-9, float(i)) for i in range(n)]
    assert cmp(sut, ref).kind is Kind.MATCH
    ref[7] = (ref[7][0], 7.5)
    c = cmp(sut, ref)
    assert (c.kind, c.sut_only_count, c.ref_only_count) == (Kind.CONTENT, 1, 1)
    assert c.ref_only == [ref[7]]


def test_many_rows_with_floats_off_in_the_last_bits() -> None:
    rng = random.Random(2)
    sut = [(i % 10, rng.random() * 1000, f"s{i % 7}") for i in range(3000)]
    ref = [(k, x * (1 + 1e-13), s) for k, x, s in sut]
    rng.shuffle(ref)
    assert cmp(sut, ref).kind is Kind.MATCH
    ref[100] = (ref[100][0], ref[100][1] * 1.01, ref[100][2])
    c = cmp(sut, ref)
    assert c.kind is Kind.CONTENT and c.ref_only == [ref[100]]
    assert len(c.sut_only) == 1 and math.isclose(c.sut_only[0][1] * 1.01, ref[100][1])


def test_nan_inf_and_negative_zero() -> None:
    nan = float("nan")
    assert same(nan, float("nan"))
    assert same(Decimal("NaN"), nan)
    assert not same(nan, 1.0)
    assert not same(nan, math.inf)
    assert same(math.inf, math.inf)
    assert same(-math.inf, Decimal("-Infinity"))
    assert not same(math.inf, -math.inf)
    assert not same(math.inf, 1e308)
    assert same(-0.0, 0.0)
    assert same(-0.0, 0)
    # As multisets: two NaN rows are not one NaN row and a number.
    c = cmp([(nan,), (nan,)], [(float("nan"),), (1.0,)])
    assert c.kind is Kind.CONTENT and (c.sut_only_count, c.ref_only) == (1, [(1.0,)])
    # NaN and inf must match exactly while the column next to them is matched with tolerance.
    assert cmp([(nan, 1.0), (math.inf, 2.0)], [(math.inf, 2.0 + 1e-12), (nan, 1.0)]).kind is (
        Kind.MATCH
    )


def test_ints_decimals_and_floats_are_one_numeric_form() -> None:
    assert same(3, Decimal("3.00"))
    assert same(Decimal("3.00"), 3.0)
    assert same(3, 3.0)
    assert same(Decimal("0.1"), 0.1)  # not equal as Python values: within tolerance
    assert same(Decimal("2.5"), 2.5000000001)
    assert not same(3, Decimal("3.01"))
    # Two exact numbers must be equal: the tolerance is for floats.
    assert not same(Decimal("1.0000001"), Decimal("1"))
    assert not same(10_000_000, 10_000_001)
    assert same(10_000_000, 10_000_001.0)  # one side is a float: 1e-7 apart
    assert same(2**63 - 1, float(2**63))
    # Huge exact numbers do not overflow the comparison.
    assert not same(10**400, 1.0)


def test_strings_are_exact() -> None:
    assert same("abc", "abc")
    assert not same("abc", "abc ")
    assert not same("abc", "ABC")
    assert not same("", None)
    assert not same("1", 1)
    assert same(b"\x00", b"\x00")


def test_duplicates_count() -> None:
    c = cmp([(1,), (1,), (2,)], [(1,), (2,), (2,)])
    assert c.kind is Kind.CONTENT
    assert (c.sut_only, c.ref_only) == ([(1,)], [(2,)])
    assert cmp([(1,), (1,), (2,)], [(1,), (2,), (1,)]).kind is Kind.MATCH
    assert cmp([(1.5,), (1.5,)], [(1.5,), (1.5 + 1e-12,)]).kind is Kind.MATCH
    assert cmp([(1.5,), (1.5,)], [(1.5,), (1.6,)]).kind is Kind.CONTENT


def test_booleans() -> None:
    # SQLite answers 0/1 for booleans.
    assert same(True, 1, types=[SqlType.BOOL])
    assert same(False, 0, types=[SqlType.BOOL])
    assert not same(True, 0, types=[SqlType.BOOL])
    assert not same(True, 2, types=[SqlType.BOOL])
    # In a column typed otherwise a bool is no number: that would be an engine's type bug.
    assert not same(True, 1, types=[SqlType.INT])
    assert not same(False, 0.0, types=[SqlType.FLOAT])
    assert same(True, True, types=[SqlType.INT])
    # Without types, a column holding a bool is taken for a BOOL column.
    assert same(True, 1)
    c = cmp([(True, 1), (False, 2)], [(0, 2), (1, 1)])
    assert c.kind is Kind.MATCH


def test_dates_and_timestamps() -> None:
    d, ts = SqlType.DATE, SqlType.TIMESTAMP
    assert same(date(2024, 1, 2), "2024-01-02", types=[d])
    assert not same(date(2024, 1, 2), "2024-01-03", types=[d])
    assert same(datetime(2024, 1, 2, 3, 4, 5), "2024-01-02 03:04:05", types=[ts])
    assert same(datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05.000", types=[ts])
    assert same(datetime(2024, 1, 2, 3, 4, 5, 500000), "2024-01-02 03:04:05.5", types=[ts])
    assert not same(datetime(2024, 1, 2, 3, 4, 5, 1), "2024-01-02 03:04:05", types=[ts])
    assert same(date(2024, 1, 2), "2024-01-02 00:00:00", types=[ts])
    assert same(datetime(2024, 1, 2), "2024-01-02", types=[d])
    # Aware datetimes compare in UTC.
    plus2 = timezone(timedelta(hours=2))
    assert same(datetime(2024, 1, 2, 5, 0, tzinfo=plus2), "2024-01-02 03:00:00", types=[ts])
    assert same(datetime(2024, 1, 2, 3, 0, tzinfo=UTC), datetime(2024, 1, 2, 3), types=[ts])
    # Text that is no date stays text; NULL stays NULL.
    assert not same(date(2024, 1, 2), "yesterday", types=[d])
    assert same("yesterday", "yesterday", types=[d])
    assert same(None, None, types=[d])
    assert not same(None, "2024-01-02", types=[d])
    # Without types, a column holding a date or datetime is taken for a DATE / TIMESTAMP one.
    assert same(date(2024, 1, 2), "2024-01-02")
    assert same(datetime(2024, 1, 2, 3, 4, 5), "2024-01-02 03:04:05.000000")
    # Typed TEXT, a date is not its text.
    assert not same(date(2024, 1, 2), "2024-01-02", types=[SqlType.TEXT])
    # Without a date anywhere, two texts compare as text.
    assert not same("2024-01-02", "2024-01-02 00:00:00")


def test_types_shorter_than_the_row_infer_the_rest() -> None:
    c = cmp([(True, date(2024, 1, 2))], [(1, "2024-01-02")], types=[SqlType.BOOL])
    assert c.kind is Kind.MATCH


def test_diff_rows_are_capped() -> None:
    sut = [(i,) for i in range(200)]
    ref = [(i,) for i in range(200, 400)]
    c = cmp(sut, ref)
    assert c.kind is Kind.CONTENT
    assert len(c.sut_only) == len(c.ref_only) == MAX_DIFF_ROWS == 50
    assert (c.sut_only_count, c.ref_only_count) == (200, 200)
    assert c.sut_only == sut[:50]  # in the side's own order
    c = cmp(sut, ref[:120])
    assert (c.kind, c.sut_only_count, c.ref_only_count) == (Kind.ROW_COUNT, 200, 120)
    assert len(c.sut_only) == len(c.ref_only) == 50


def test_original_values_are_reported_not_normalized_ones() -> None:
    c = cmp([(float("nan"), True)], [(1.0, 0)], types=[SqlType.FLOAT, SqlType.BOOL])
    assert c.kind is Kind.CONTENT
    assert math.isnan(c.sut_only[0][0]) and c.sut_only[0][1] is True
    assert c.ref_only == [(1.0, 0)]


def test_rows_given_as_lists() -> None:
    sut = Outcome(Status.OK, rows=[[1, "a"], [2, "b"]])  # type: ignore[list-item]
    assert compare(sut, ok((2, "b"), (1, "a"))).kind is Kind.MATCH


# --- ordered --------------------------------------------------------------------------------


def test_order_matters_only_when_asked() -> None:
    sut, ref = [(1, "a"), (2, "b"), (3, "c")], [(1, "a"), (3, "c"), (2, "b")]
    assert cmp(sut, ref).kind is Kind.MATCH
    c = cmp(sut, ref, ordered=True)
    assert c.kind is Kind.CONTENT and c.first_diff == 1
    assert c.detail.startswith("same rows in another order: row 2 is (2, 'b') vs (3, 'c')")
    # The rows out of place, for the UI to mark.
    assert (c.sut_only, c.ref_only) == ([(2, "b"), (3, "c")], [(3, "c"), (2, "b")])
    assert cmp(sut, list(sut), ordered=True).kind is Kind.MATCH


def test_ordered_content_difference_names_the_row() -> None:
    c = cmp([(0, "z"), (1, "a")], [(0, "z"), (1, "b")], ordered=True)
    assert c.kind is Kind.CONTENT
    assert c.detail == "row 2 differs: (1, 'a') vs (1, 'b')"
    assert c.first_diff == 1
    assert (c.sut_only, c.ref_only) == ([(1, "a")], [(1, "b")])


def test_ordered_with_tolerance() -> None:
    c = cmp([(1, 0.1 + 0.2), (2, 1.0)], [(1, 0.3), (2, 1.0)], ordered=True)
    assert c.kind is Kind.MATCH


def test_ties_on_the_order_keys_may_come_in_any_order() -> None:
    # ORDER BY k: rows tied on k (column 0) are a multiset; the groups are ordered.
    sut = [(1, "a"), (1, "b"), (2, "c"), (2, "d"), (3, "e")]
    ref = [(1, "b"), (1, "a"), (2, "d"), (2, "c"), (3, "e")]
    assert cmp(sut, ref, order_keys=[0]).kind is Kind.MATCH
    assert cmp(sut, ref, ordered=True).kind is Kind.CONTENT  # without keys every row counts
    # Across groups the order matters.
    swapped = [(2, "c"), (2, "d"), (1, "a"), (1, "b"), (3, "e")]
    c = cmp(sut, swapped, order_keys=[0])
    assert c.kind is Kind.CONTENT and c.first_diff == 0
    assert c.detail.startswith("same rows in another order")
    # Within a group the rows must still be the same multiset.
    changed = [(1, "b"), (1, "x"), (2, "d"), (2, "c"), (3, "e")]
    c = cmp(sut, changed, order_keys=[0])
    assert c.kind is Kind.CONTENT and c.first_diff == 0
    assert (c.sut_only, c.ref_only) == ([(1, "a")], [(1, "x")])


def test_order_keys_with_several_columns_nulls_and_floats() -> None:
    sut = [(None, 1.0, "a"), (None, 1.0, "b"), (1, 2.5, "c"), (1, 2.5, "d")]
    ref = [(None, 1.0, "b"), (None, 1.0, "a"), (1, 2.5 + 1e-12, "d"), (1, 2.5 + 1e-12, "c")]
    assert cmp(sut, ref, order_keys=[0, 1]).kind is Kind.MATCH
    assert cmp(sut, ref, order_keys=[0]).kind is Kind.MATCH
    # Keys given imply ordered; no keys at all is one group, i.e. a multiset.
    assert cmp(sut, list(reversed(ref)), order_keys=[0, 1]).kind is Kind.CONTENT
    assert cmp(sut, list(reversed(ref)), order_keys=[]).kind is Kind.MATCH


def test_ragged_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="SUT's rows do not all have the same number"):
        cmp([(1, 2), (3,)], [(1, 2), (3, 4)])


def test_order_keys_out_of_range() -> None:
    with pytest.raises(ValueError, match="out of range"):
        cmp([(1, 2)], [(1, 2)], order_keys=[2])


def test_a_row_count_difference_wins_over_order() -> None:
    c = cmp([(1,), (2,)], [(2,)], ordered=True)
    assert c.kind is Kind.ROW_COUNT and c.sut_only == [(1,)]
