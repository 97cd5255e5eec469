from datetime import date

import pytest

from core.exceptions import AssayError, NotFound
from results.services.runs import get_or_create_run, parse_recurring, resolve_run_name
from tests import factories

pytestmark = pytest.mark.django_db


def test_recurring_names_get_prefix_and_date():
    run, created = get_or_create_run("daily_2026-11-20")
    assert created and run.prefix == "daily" and run.run_date == date(2026, 11, 20)
    other, _ = get_or_create_run("mark-25")
    assert other.prefix == "" and other.run_date is None


def test_unconfigured_prefixes_and_bad_dates_are_plain_names(settings):
    assert parse_recurring("nightly_2026-11-20") is None
    settings.ASSAY_RECURRING_PREFIXES = ["daily", "nightly"]
    assert parse_recurring("nightly_2026-11-20").prefix == "nightly"
    assert parse_recurring("daily_2026-02-30") is None


def test_today_and_yesterday_follow_the_calendar():
    on = date(2026, 3, 1)
    assert resolve_run_name("daily_today", on=on) == "daily_2026-03-01"
    assert resolve_run_name("daily_yesterday", on=on) == "daily_2026-02-28"


def test_latest_is_the_newest_dated_run_of_the_prefix():
    for name in ["daily_2026-11-01", "daily_2026-11-03", "daily_2026-11-02", "other_run"]:
        factories.run(name)
    assert resolve_run_name("daily_latest") == "daily_2026-11-03"


def test_latest_ignores_deleted_runs():
    factories.run("daily_2026-11-01")
    factories.run("daily_2026-11-02", deleted_at="2026-11-02T00:00:00Z")
    assert resolve_run_name("daily_latest") == "daily_2026-11-01"


def test_latest_without_runs_is_a_clear_error():
    with pytest.raises(NotFound, match="newest daily_YYYY-MM-DD run, and there is none"):
        resolve_run_name("daily_latest")


@pytest.mark.parametrize("bad", ["", "  ", "a b", "../etc", "x" * 201, "run/1", "<script>"])
def test_bad_run_names_are_refused(bad):
    with pytest.raises(AssayError):
        resolve_run_name(bad)


def test_a_recurring_run_dated_more_than_a_day_ahead_is_refused():
    from datetime import timedelta

    from results.services.runs import today

    tomorrow, later = today() + timedelta(days=1), today() + timedelta(days=2)
    assert get_or_create_run(f"daily_{tomorrow}")[1]  # a CI host ahead of the server
    for name in [f"daily_{later}", "daily_9999-12-31"]:
        with pytest.raises(AssayError, match="more than a day after today") as err:
            get_or_create_run(name)
        assert err.value.code == "run_date_ahead"
    assert get_or_create_run("pr-9999-12-31")[1]  # not a recurring name: any text goes


def test_latest_never_names_a_run_dated_ahead():
    """One imported before such runs were refused stays out of `_latest`."""
    from results.models import TestRun

    factories.run("daily_2026-11-01")
    TestRun.objects.create(name="daily_9999-12-31", prefix="daily", run_date=date(9999, 12, 31))
    assert resolve_run_name("daily_latest") == "daily_2026-11-01"


@pytest.mark.db_dependent
def test_an_import_keeps_the_runs_duration_and_its_known_tests():
    from results.models import KnownTest
    from results.services.imports import ImportDefaults, import_files
    from results.services.search import index_pending_tests

    junit = b"""<testsuite name="s"><testcase classname="tests.A" name="test_one" time="1.25"/>
<testcase classname="tests.A" name="test_two" time="0.5"><failure message="no"/></testcase>
<testcase classname="tests.B" name="test_three"/></testsuite>"""
    import_files([("r.xml", junit)], ImportDefaults(run="build-1", project="p", host="h"))
    run = get_or_create_run("build-1")[0]
    assert run.duration_total == pytest.approx(1.75)
    assert run.status_counts == {"P": 2, "F": 1}
    assert run.search_pending and index_pending_tests() == 1
    known = set(KnownTest.objects.values_list("project__name", "host", "test_name"))
    assert {name for *_, name in known} == {
        "tests.A.test_one",
        "tests.A.test_two",
        "tests.B.test_three",
    }
    # The same tests in another run are not known twice; a re-import changes the duration.
    import_files([("r.xml", junit)], ImportDefaults(run="build-2", project="p", host="h"))
    assert index_pending_tests() == 1
    assert KnownTest.objects.count() == 3
    faster = junit.replace(b'time="1.25"', b'time="0.25"')
    import_files([("r.xml", faster)], ImportDefaults(run="build-1", project="p", host="h"))
    assert get_or_create_run("build-1")[0].duration_total == pytest.approx(0.75)


def test_a_run_without_durations_has_none():
    run = factories.day("r-1", {"a": "P"})
    run.refresh_from_db()
    assert run.duration_total is None


@pytest.mark.db_dependent
def test_a_run_keeps_its_slowest_results(monkeypatch):
    from results.models import TestResult
    from results.services import runs

    monkeypatch.setattr(runs, "SLOWEST_KEPT", 2)
    run = factories.run("r-1")
    for name, seconds in [("a", 1.0), ("b", 3.0), ("c", 2.0), ("d", None)]:
        made = factories.result(run, name)
        TestResult.objects.filter(pk=made.pk).update(duration=seconds)
    runs.refresh_counts(run)
    run.refresh_from_db()
    project = factories.project().pk
    assert run.slowest == [
        [project, "h1", "default", "b", 3.0],
        [project, "h1", "default", "c", 2.0],
    ]
    assert run.duration_total == 6.0


@pytest.mark.db_dependent
def test_an_import_that_creates_a_run_counts_it_as_a_refresh_would():
    """The import computes a new run's counts and durations from its rows (no query): the same
    answer as refresh_counts reading them back, ties and missing durations included."""
    from results.services.imports import ImportDefaults, import_files
    from results.services.runs import SLOWEST_KEPT, refresh_counts

    cases = []
    for i in range(SLOWEST_KEPT + 20):
        time = "" if i % 7 == 0 else f' time="{(i * 37) % 11 / 4}"'  # ties, and no time
        failure = '<failure message="no"/>' if i % 5 == 0 else ""
        cases.append(f'<testcase classname="t.M{i % 3}" name="test_{i:03d}"{time}>{failure}'
                     "</testcase>")  # fmt: skip
    junit = f'<testsuite name="s">{"".join(cases)}</testsuite>'.encode()
    import_files([("r.xml", junit)], ImportDefaults(run="build-1", project="p", host="h"))
    run = get_or_create_run("build-1")[0]
    imported = (run.status_counts, run.duration_total, run.slowest)
    assert len(run.slowest) == SLOWEST_KEPT and run.status_counts == {"P": 56, "F": 14}
    refresh_counts(run)
    run.refresh_from_db()
    assert imported[0] == run.status_counts
    assert imported[1] == pytest.approx(run.duration_total)
    assert imported[2] == run.slowest
