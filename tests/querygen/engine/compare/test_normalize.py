"""Values normalized before comparing: NULL, NaN, inf and -0.0; numbers of every form; exact
strings; booleans, dates and timestamps, by the column's type or inferred."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from querygen.engine.compare import Kind
from querygen.engine.model import SqlType
from tests.querygen.engine.compare.helpers import cmp, same


def test_null_equals_null_and_nothing_else() -> None:
    assert same(None, None)
    for other in (0, 0.0, "", "NULL", False, float("nan")):
        assert not same(None, other), other


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
