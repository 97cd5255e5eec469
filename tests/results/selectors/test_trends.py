"""results.selectors.trends: the series, a series' runs and its trends."""

import pytest
from django.utils import timezone

from core.exceptions import AssayError, NotFound
from results.models import TestRun
from results.selectors import trends
from tests import factories
from tests.results.factories import (
    NIGHTLY,
    NIGHTLY_DURATIONS,
    NIGHTLY_RATES,
    nightly,
    series_run,
)

pytestmark = pytest.mark.django_db


def test_pass_rate_leaves_disabled_out():
    assert trends.pass_rate({"P": 3, "F": 1, "D": 4}) == 0.75
    assert trends.pass_rate({"D": 2}) is None and trends.pass_rate({}) is None


def test_trend_runs_default_and_bad_values(settings):
    settings.ASSAY_TREND_RUNS = 12
    assert trends.trend_runs(None) == trends.trend_runs("") == 12
    assert trends.trend_runs("40") == 40
    for bad in ("0", "1", "x", "-3", str(trends.TREND_MAX_RUNS + 1), "2.5"):
        with pytest.raises(AssayError, match="number of runs from 2"):
            trends.trend_runs(bad)


@pytest.mark.db_dependent
def test_a_series_trend_has_one_point_per_live_run_in_start_order():
    runs = nightly()
    gone = series_run("nightly", "build-gone", 20, NIGHTLY, 0)
    TestRun.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    series_run("weekly", "weekly-1", 5, NIGHTLY, 0)
    trend = trends.series_trend("nightly", 30)
    assert [p.run.name for p in trend.points] == [r.name for r in runs]
    assert [p.pass_rate for p in trend.points] == pytest.approx(NIGHTLY_RATES)
    assert [p.duration for p in trend.points] == pytest.approx(NIGHTLY_DURATIONS)
    assert trend.points[1].counts == {"P": 1, "F": 2, "D": 1}
    # The window is the newest n runs.
    assert [p.run.name for p in trends.series_trend("nightly", 2).points] == ["build-3", "build-4"]


@pytest.mark.db_dependent
def test_slowest_by_median_and_most_failing_with_their_runs():
    runs = nightly()
    trend = trends.series_trend("nightly")
    slow = [(t.test_name, t.value, t.runs) for t in trend.slowest]
    assert slow == [("t.slow", 25.0, 4), ("t.flaky", 2.0, 3), ("t.a", 1.0, 4)]
    failing = [(t.test_name, t.value, t.runs) for t in trend.failing]
    assert failing == [("t.flaky", 3, 3), ("t.a", 1, 4), ("t.slow", 1, 4)]
    assert trend.failing[0].failure_rate == 1.0 and trend.failing[1].failure_rate == 0.25
    # Each links to its newest telling result: t.slow's newest duration is in build-4.
    newest_slow = runs[3].results.get(test_name="t.slow")
    assert trend.slowest[0].result_id == newest_slow.pk
    assert trend.slowest[0].project == "proj" and trend.slowest[0].host == "h1"
    t_a_failure = runs[3].results.get(test_name="t.a")
    assert trend.failing[1].result_id == t_a_failure.pk


@pytest.mark.db_dependent
def test_the_test_tables_follow_a_new_import():
    nightly()
    assert trends.series_trend("nightly").failing[0].value == 3  # cached now
    later = series_run("nightly", "build-5", 9, {"t.flaky": ("F", [5])}, 0)
    trend = trends.series_trend("nightly")
    assert trend.points[-1].run == later
    assert trend.failing[0].value == 4 and trend.failing[0].runs == 4


def test_unknown_series_is_not_found():
    factories.run("lonely")
    with pytest.raises(NotFound, match="no series named 'lonely'"):
        trends.series_trend("lonely")
    with pytest.raises(NotFound):
        trends.series_trend("")


def test_series_list_most_recent_first_with_recent_runs(monkeypatch):
    monkeypatch.setattr(trends, "SPARK_RUNS", 3)
    runs = nightly()
    series_run("weekly", "weekly-1", 2, NIGHTLY, 0)
    factories.run("no-series")
    rows = trends.series_list()
    assert [(r.name, r.runs) for r in rows] == [("nightly", 4), ("weekly", 1)]
    assert rows[0].latest == runs[3]
    assert [r.name for r in rows[0].recent] == ["build-2", "build-3", "build-4"]
    assert rows[0].rates == pytest.approx(NIGHTLY_RATES[1:])
    assert [r.name for r in trends.series_list(limit=1)] == ["nightly"]


def test_series_runs_newest_first():
    runs = nightly()
    assert list(trends.series_runs("nightly")) == list(reversed(runs))
