import pytest
from django.utils import timezone

from results.models import TestRun
from results.selectors import history
from results.selectors.history import (
    Pattern,
    history_runs,
    result_history,
    search_results,
    status_bar,
)
from tests import factories
from tests.results.factories import SEARCH_NAMES, history_days, result_in

# The history is SQL (a correlated lookup per run), name ranges, LIKE and GLOB are the database's:
# every test runs on PostgreSQL too.
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


# --- search ----------------------------------------------------------------------------


def found(text: str, **filters) -> list[tuple[str, str]]:
    return [(r.run.name, r.test_name) for r in search_results(text, **filters).results]


def names(text: str, **filters) -> list[str]:
    return sorted({name for _, name in found(text, **filters)})


def test_plain_text_finds_names_starting_with_it_case_sensitively(search_runs):
    assert names("storage.wal") == ["storage.wal.test_fsync", "storage.wal.test_replay"]
    assert names("storage.") == sorted(n for n in SEARCH_NAMES if n.startswith("storage."))
    assert names("Storage") == ["Storage.upper.test_case"]
    assert names("fsync") == []  # not a prefix


def test_star_stands_for_any_characters(search_runs):
    assert names("*fsync") == [
        "query.test_fsync_plan", "storage.btree.test_split_fsync", "storage.wal.test_fsync",
    ]  # fmt: skip
    assert names("*fsync*") == names("*fsync")
    assert names("storage.*fsync") == ["storage.btree.test_split_fsync", "storage.wal.test_fsync"]
    assert names("*FSYNC") == []  # case-sensitive on every database
    assert names("query.*_plan") == ["query.test_fsync_plan"]


def test_like_and_glob_characters_are_literal(search_runs):
    assert names("query.a_b") == ["query.a_b.test_literal"]
    assert names("*a_b*") == ["query.a_b.test_literal"]
    assert names("*100%*") == ["query.100%.test_percent"]
    assert names("*[a]*") == [] and names("*?*") == []


def test_newest_runs_first_then_by_name(search_runs):
    rows = found("storage.wal")
    assert rows == [
        ("daily_2026-11-02", "storage.wal.test_fsync"),
        ("daily_2026-11-02", "storage.wal.test_replay"),
        ("pr-7", "storage.wal.test_fsync"),
        ("pr-7", "storage.wal.test_replay"),
        ("daily_2026-11-01", "storage.wal.test_fsync"),
        ("daily_2026-11-01", "storage.wal.test_replay"),
    ]


def test_filters_by_run_prefix_and_status(search_runs):
    assert {r for r, _ in found("storage", run=search_runs[1])} == {"pr-7"}
    assert {r for r, _ in found("storage", prefix="daily")} == {
        "daily_2026-11-01",
        "daily_2026-11-02",
    }
    assert {r for r, _ in found("storage", status="FE")} == {"pr-7", "daily_2026-11-02"}
    TestRun.objects.filter(pk=search_runs[2].pk).update(deleted_at=timezone.now())
    assert "daily_2026-11-02" not in {r for r, _ in found("storage")}


def test_a_star_search_looks_at_the_newest_runs_only(search_runs, monkeypatch):
    monkeypatch.setattr(history, "SUBSTRING_RUNS", 2)
    search = search_results("*fsync")
    assert search.runs_limited == 2
    assert {r.run.name for r in search.results} == {"daily_2026-11-02", "pr-7"}
    named = search_results("*fsync", run=search_runs[0])  # a run named: no limit
    assert named.runs_limited is None and {r.run.name for r in named.results} == {
        "daily_2026-11-01"
    }
    assert search_results("storage.wal").runs_limited is None
    monkeypatch.setattr(history, "SUBSTRING_RUNS", 3)  # all runs looked at: nothing to say
    assert search_results("*fsync").runs_limited is None


def test_pattern_parts():
    assert Pattern("a.b").head == "a.b" and not Pattern("a.b").is_wildcard
    assert not Pattern("a.b*").is_wildcard  # a trailing * is what plain text means
    assert Pattern("a*b").head == "a" and Pattern("a*b").is_wildcard
    assert Pattern("*b").head == ""
    assert Pattern("*100%*").like() == "%100\\%%" and Pattern("a_b").like() == "a\\_b%"
    assert Pattern("*[x]?").glob() == "*[[]x][?]*"


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
