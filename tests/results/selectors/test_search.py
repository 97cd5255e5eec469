"""results.selectors.search: test names by substring, any case, grouped by test."""

import pytest
from django.utils import timezone

from results.models import KnownTest, TestResult, TestRun
from results.selectors import search
from results.services.runs import refresh_counts
from results.services.search import index_pending_tests
from tests import factories
from tests.results.factories import series_run

pytestmark = pytest.mark.django_db

NAMES = {
    "tests.Storage.test_update_one_row_fast": ("PF", [1, 1]),
    "tests.Storage.test_update_many": ("PP", [1, 1]),
    "tests.query.test_100%_literal": ("PP", [1, 1]),
    "tests.query.test_a_b": ("PP", [1, 1]),
    "tests.query.test_axb": ("PP", [1, 1]),
}


@pytest.fixture(params=["just imported", "indexed by the job"])
def builds(request):
    """Three builds; the search answers alike before the search's job has run (the runs'
    results are read) and after (KnownTest is)."""
    made = [series_run("nightly", f"n-{i}", i + 1, NAMES, i) for i in range(2)]
    made.append(series_run("main", "m-1", 3, NAMES, 1))
    if request.param == "indexed by the job":
        assert index_pending_tests() == 3
        assert KnownTest.objects.count() == len(NAMES)
    else:
        assert not KnownTest.objects.exists()
    return made


def names(text: str, **kwargs) -> list[str]:
    return [t.test_name for t in search.matching_tests(text, **kwargs)]


@pytest.mark.db_dependent
def test_a_substring_in_any_case_finds_the_test_once(builds):
    expected = ["tests.Storage.test_update_one_row_fast"]
    assert names("update_one_row") == expected
    assert names("UPDATE_ONE_ROW") == expected
    assert names("  Update_One ") == expected  # trimmed
    assert names("storage") == ["tests.Storage.test_update_many", *expected]


@pytest.mark.db_dependent
def test_like_characters_are_literal_and_star_is_any(builds):
    assert names("100%") == ["tests.query.test_100%_literal"]
    assert names("test_a_b") == ["tests.query.test_a_b"]  # not test_axb
    assert names("storage*fast") == ["tests.Storage.test_update_one_row_fast"]
    assert names("no such thing") == []


@pytest.mark.db_dependent
def test_grouped_by_identity_with_a_project_filter(builds):
    other = factories.run("pr-1")
    factories.result(other, "tests.Storage.test_update_one_row_fast", "E", proj="other")
    refresh_counts(other)
    found = search.matching_tests("update_one_row")
    assert [(t.test_name, t.project.name) for t in found] == [
        ("tests.Storage.test_update_one_row_fast", "other"),
        ("tests.Storage.test_update_one_row_fast", "proj"),
    ]
    assert [t.project.name for t in search.matching_tests("one_row", project="proj")] == ["proj"]


@pytest.mark.db_dependent
def test_latest_status_in_each_series(builds):
    n0, n1, m1 = builds
    loose = factories.run("pr-2")
    factories.result(loose, "tests.Storage.test_update_one_row_fast", "E")
    refresh_counts(loose)
    [found] = search.latest_statuses(list(search.matching_tests("update_one_row")))
    by_series = {s.series: (s.status, s.run_name) for s in found.statuses}
    assert by_series == {"nightly": ("F", "n-1"), "main": ("F", "m-1"), "": ("E", "pr-2")}
    # The test's page: its result in the newest run looked at.
    newest = TestResult.objects.get(run=loose, test_name="tests.Storage.test_update_one_row_fast")
    assert found.result_id == newest.pk


@pytest.mark.db_dependent
def test_a_test_absent_from_the_latest_run_shows_its_last_status(builds):
    later = series_run("nightly", "n-9", 9, {"tests.other": ("P", [1])}, 0)
    [found] = search.latest_statuses(list(search.matching_tests("update_one_row")), "nightly")
    assert [(s.series, s.run_name) for s in found.statuses] == [("nightly", "n-1")]
    assert later.name == "n-9"
    # Deleted runs are not looked at; with every run gone the test is still known.
    TestRun.objects.update(deleted_at=timezone.now())
    [gone] = search.latest_statuses(list(search.matching_tests("update_one_row")))
    assert gone.statuses == [] and gone.result_id is None


@pytest.mark.db_dependent
def test_the_job_remembers_each_identity_once(builds):
    index_pending_tests()
    assert KnownTest.objects.count() == len(NAMES)
    run = factories.run("pr-3")
    factories.result(run, "tests.new_one", "P", host="h2")
    refresh_counts(run)
    assert names("new_one") == ["tests.new_one"]  # pending: read from its results
    assert index_pending_tests() == 1 and index_pending_tests() == 0
    refresh_counts(run)  # written again: pending again, nothing new to add
    assert index_pending_tests() == 1
    assert KnownTest.objects.count() == len(NAMES) + 1
    assert KnownTest.objects.get(test_name="tests.new_one").host == "h2"
    assert names("new_one") == ["tests.new_one"]  # now from KnownTest, still once
    assert not TestRun.objects.filter(search_pending=True).exists()


def test_like_pattern_escapes():
    assert search.like_pattern("a_b%c\\") == "%a\\_b\\%c\\\\%"
    assert search.like_pattern("a*b") == "%a%b%"


# --- the names of tests/results/conftest.py's search_runs (three runs, no series) ----------


@pytest.mark.db_dependent
def test_substrings_anywhere_in_the_name(search_runs):
    assert names("fsync") == [
        "query.test_fsync_plan", "storage.btree.test_split_fsync", "storage.wal.test_fsync",
    ]  # fmt: skip
    assert names("FSYNC") == names("fsync")
    assert names("storage") == [
        "Storage.upper.test_case", "storage.btree.test_split_fsync",
        "storage.wal.test_fsync", "storage.wal.test_replay",
    ]  # fmt: skip
    assert names("a_b") == ["query.a_b.test_literal"]
    assert names("100%") == ["query.100%.test_percent"]
    assert names("[a]") == [] and names("?") == []


@pytest.mark.db_dependent
def test_runs_without_series_count_as_one(search_runs):
    tests = list(search.matching_tests("wal.test_fsync"))
    [found] = search.latest_statuses(tests)
    # The recurring runs are the series "daily" (its newest has the test in error); pr-7 is
    # the one run of no series.
    assert [(s.series, s.status, s.run_name) for s in found.statuses] == [
        ("", "F", "pr-7"), ("daily", "E", "daily_2026-11-02"),
    ]  # fmt: skip
