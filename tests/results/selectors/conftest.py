"""Fixtures of the selectors' tests: two days to compare, and runs to walk as a tree."""

import pytest

from tests import factories

day = factories.day


@pytest.fixture
def two_days():
    before = day(
        "daily_2026-11-01",
        {
            "a.ok": "P",
            "a.breaks": "P",
            "a.missing": "P",
            "a.fixed": "F",
            "a.gone": "P",
            "a.still": "E",
        },
    )
    now = day(
        "daily_2026-11-02",
        {
            "a.ok": "P",
            "a.breaks": "F",
            "a.missing": "M",
            "a.fixed": "P",
            "a.new": "P",
            "a.still": "E",
        },
    )
    return now, before  # fmt: skip


@pytest.fixture
def tree_runs():
    old = factories.run("r-old")
    new = factories.run("r-new")
    for name, status in [("eng.storage.test_a", "P"), ("eng.storage.test_b", "F"),
                         ("eng.query.test_c", "P"), ("eng.top", "E"), ("dir/file.py/test_d", "P"),
                         ("solo", "M")]:  # fmt: skip
        factories.result(new, name, status)
    for name, status in [("eng.storage.test_a", "P"), ("eng.storage.test_b", "P"),
                         ("eng.gone.test_z", "P")]:  # fmt: skip
        factories.result(old, name, status)
    return new, old
