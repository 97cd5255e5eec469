"""Rows matched as multisets: duplicates counted, floats within a tolerance, near-equal floats
across rounding boundaries and in bulk."""

from __future__ import annotations

import math
import random

from querygen.engine.compare import Kind
from tests.querygen.engine.compare.helpers import cmp, same


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


def test_duplicates_count() -> None:
    c = cmp([(1,), (1,), (2,)], [(1,), (2,), (2,)])
    assert c.kind is Kind.CONTENT
    assert (c.sut_only, c.ref_only) == ([(1,)], [(2,)])
    assert cmp([(1,), (1,), (2,)], [(1,), (2,), (1,)]).kind is Kind.MATCH
    assert cmp([(1.5,), (1.5,)], [(1.5,), (1.5 + 1e-12,)]).kind is Kind.MATCH
    assert cmp([(1.5,), (1.5,)], [(1.5,), (1.6,)]).kind is Kind.CONTENT
