"""Comparing rows: the verdicts (match, row count, content) and what they report, ordered results
and ties on the order keys."""

from __future__ import annotations

import math

import pytest

from querygen.engine.compare import MAX_DIFF_ROWS, Kind, compare
from querygen.engine.model import Outcome, SqlType, Status
from tests.querygen.engine.compare.helpers import cmp, ok


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


def test_floats_kept_apart_on_one_side_only_are_noise() -> None:
    """0.1 + 0.2 summed in another order is 0.30000000000000004: DISTINCT (or UNION, GROUP BY)
    keeps it apart from 0.3 on one side and as one row on the other."""
    c = cmp([(0.1 + 0.2, "a"), (0.3, "a")], [(0.3, "a")])
    assert c.kind is Kind.MATCH and "float noise" in c.detail
    assert cmp([(0.3,)], [(0.1 + 0.2,), (0.3,)]).kind is Kind.MATCH  # either side
    # Real differences of rows stay findings: an exact duplicate, a row with other values,
    # a row without floats, floats far apart.
    assert cmp([(0.3,), (0.3,)], [(0.3,)]).kind is Kind.ROW_COUNT
    assert cmp([(0.1 + 0.2, "b"), (0.3, "a")], [(0.3, "a")]).kind is Kind.ROW_COUNT
    assert cmp([(1,), (1,)], [(1,)]).kind is Kind.ROW_COUNT
    assert cmp([(0.31,), (0.3,)], [(0.3,)]).kind is Kind.ROW_COUNT
