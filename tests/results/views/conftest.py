"""Fixtures of the results pages' tests."""

import pytest
from django.core.cache import cache

from results.services.flaky import refresh_flaky
from results.services.runs import refresh_counts
from tests import factories


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()  # the tree and comparisons are cached per run version; each test starts cold


@pytest.fixture
def day():
    run = factories.run("daily_2026-11-01")
    factories.result(run, "pkg.a.test_1", "P")
    factories.result(run, "pkg.a.test_2", "F", log="Traceback: <b>boom</b>")
    factories.result(run, "pkg.b.test_3", "E")
    factories.result(run, "top", "M")
    refresh_counts(run)
    return run


@pytest.fixture
def nights():
    factories.day(
        "daily_2026-11-01", {"a.flaky": "P", "a.breaks": "P", "a.ok": "P", "a.fixed": "F"}
    )
    factories.day(
        "daily_2026-11-02", {"a.flaky": "F", "a.breaks": "P", "a.ok": "P", "a.fixed": "F"}
    )
    factories.day(
        "daily_2026-11-03", {"a.flaky": "P", "a.breaks": "P", "a.ok": "P", "a.fixed": "F"}
    )
    latest = factories.day(
        "daily_2026-11-04",
        {"a.flaky": "F", "a.breaks": "F", "a.ok": "P", "a.fixed": "P", "a.gone": "M"},
    )
    refresh_flaky("daily", k=3)
    return latest
