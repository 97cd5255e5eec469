import pytest
from django.utils import timezone

from results.models import TestRun
from results.selectors.history import history_runs, result_history, status_bar
from tests import factories
from tests.results.factories import history_days, result_in

# The history is SQL (a correlated lookup per run): every test runs on PostgreSQL too.
pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def cells(history) -> list[tuple[str, str | None, bool]]:
    return [(c.run.name[-2:], c.status, c.current) for c in history.cells]


# --- a test's history ------------------------------------------------------------------


def test_history_has_the_status_in_each_run_or_not_run():
    runs = history_days("PF-P")
    factories.result(runs[2], "a.test_x", "F", host="other-host")  # another identity
    history = result_history(result_in(runs[3]))
    assert history.prefix == "daily"
    assert cells(history) == [("01", "P", False), ("02", "F", False), ("03", None, False),
                              ("04", "P", True)]  # fmt: skip
    assert history.cells[2].result_id is None and history.cells[2].label == "not run"
    assert history.cells[1].result_id == result_in(runs[1]).pk
    assert history.cells[1].label == "fail"


def test_the_window_is_the_last_n_runs_or_the_n_ending_at_an_older_result():
    runs = history_days("PFPFPF")
    assert [c[0] for c in cells(result_history(result_in(runs[5]), 3))] == ["04", "05", "06"]
    # A result in the window keeps the same window, highlighted where it is.
    assert cells(result_history(result_in(runs[3]), 3))[0] == ("04", "F", True)
    # An older one gets the n runs that end with it.
    assert [c[0] for c in cells(result_history(result_in(runs[1]), 3))] == ["01", "02"]
    assert cells(result_history(result_in(runs[2]), 3))[-1] == ("03", "P", True)


def test_deleted_runs_are_left_out():
    runs = history_days("PFP")
    TestRun.objects.filter(pk=runs[1].pk).update(deleted_at=timezone.now())
    assert cells(result_history(result_in(runs[2]))) == [("01", "P", False), ("03", "P", True)]


def test_a_run_without_a_prefix_has_only_itself():
    run = factories.run("pr-1234")
    result = factories.result(run, "a.test_x", "F")
    history = result_history(result)
    assert not history.recurring
    assert [(c.run, c.status, c.current) for c in history.cells] == [(run, "F", True)]


def test_n_is_bounded(settings):
    settings.ASSAY_HISTORY_RUNS = 7
    assert [history_runs(v) for v in (None, "", "abc", "0", "-3", "30", "1000")] == [
        7, 7, 7, 1, 1, 30, 100,
    ]  # fmt: skip


def test_history_is_one_query_for_the_newest_runs(django_assert_num_queries):
    runs = history_days("PFPFPFPFPFPF")
    newest, oldest = result_in(runs[-1]), result_in(runs[0])
    with django_assert_num_queries(1):
        assert len(result_history(newest, 10).cells) == 10
    with django_assert_num_queries(2):  # not among the newest 10: the 10 ending with it
        assert len(result_history(oldest, 10).cells) == 1


# --- the dashboard's bars ---------------------------------------------------------------


def test_bar_segments_are_percentages_of_the_total():
    bar = status_bar({"P": 3, "F": 1, "x": 0})
    assert [(s.status, s.count, s.percent) for s in bar] == [("P", 3, 75.0), ("F", 1, 25.0)]
    assert [s.status for s in status_bar({"z": 1, "M": 1, "P": 1})] == ["P", "M", "z"]
    assert status_bar({}) == []


def test_history_follows_a_series_by_start_time_with_several_runs_a_day():
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 11, 2, 6, tzinfo=UTC)
    made = []
    for i, (name, status) in enumerate([("b-c", "P"), ("b-a", "F"), ("b-b", "P")]):
        run = factories.run(name, series="ci", started_at=start + timedelta(hours=i))
        factories.result(run, "a.test_x", status)
        made.append(run)
    history = result_history(result_in(made[1]))
    assert history.series == "ci"
    assert [(c.run.name, c.status, c.current) for c in history.cells] == [
        ("b-c", "P", False), ("b-a", "F", True), ("b-b", "P", False),
    ]  # fmt: skip
    assert [c.run.name for c in result_history(result_in(made[1]), 2).cells] == ["b-a", "b-b"]
    # Older than the newest two: the two that end with it (here only itself).
    assert [c.run.name for c in result_history(result_in(made[0]), 2).cells] == ["b-c"]
