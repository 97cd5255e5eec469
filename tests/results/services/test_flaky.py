from datetime import timedelta

import pytest
from django.utils import timezone

from core.exceptions import AssayError
from core.jobs import run_job
from core.models import JobState
from results.importers import BuildInfo, ParsedResult
from results.models import FlakinessJob, FlakyTest, TestResult
from results.services.flaky import queue_flaky_refresh, refresh_flaky
from results.services.imports import ImportDefaults, record_run
from tests import factories
from tests.results.factories import flaky_days, flips

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]

# One column per day; "-" is no result at all in that run.
SERIES = {
    "t.alternating": "PFPFP",  # 4 flips
    "t.steady": "PPPPP",  # 0
    "t.broke": "PPPFF",  # 1
    "t.missing": "PMPMP",  # M is skipped: P P P, 0
    "t.disabled": "PDFDP",  # D is skipped: P F P, 2
    "t.errors": "FEFEF",  # F and E are different statuses: 4
    "t.absent": "P-F-P",  # not run is skipped: P F P, 2
    "t.last_missing": "PFPFM",  # 3 flips, last result M
}


def test_flips_are_counted_as_documented():
    flaky_days(SERIES)
    summary = refresh_flaky("daily", k=1)
    assert len(summary.window) == 5 and summary.flaky == 6
    assert flips() == {
        "t.alternating": 4,
        "t.broke": 1,
        "t.disabled": 2,
        "t.errors": 4,
        "t.absent": 2,
        "t.last_missing": 3,
    }


def test_p_f_p_f_is_flaky_at_three_flips():
    flaky_days({"t.pfpf": "PFPF", "t.pfp": "PFPP"})
    refresh_flaky("daily", k=3)
    assert flips() == {"t.pfpf": 3}


def test_the_setting_is_the_default_threshold(settings):
    settings.ASSAY_FLAKY_FLIPS = 4
    flaky_days(SERIES)
    refresh_flaky("daily")
    assert flips() == {"t.alternating": 4, "t.errors": 4}


def test_rows_say_the_runs_it_ran_in_and_its_newest_result_of_any_status():
    runs = flaky_days(SERIES)
    refresh_flaky("daily", k=3)
    row = FlakyTest.objects.get(test_name="t.last_missing")
    assert (row.runs, row.last_status, row.window_end) == (4, "M", runs[-1])
    assert row.last_result == TestResult.objects.get(run=runs[-1], test_name="t.last_missing")
    absent = FlakyTest.objects.get(test_name="t.alternating")
    assert absent.runs == 5 and absent.last_status == "P"


def test_only_the_last_n_runs_count(settings):
    flaky_days({"t.old_flaky": "PFPFPPPP"})
    refresh_flaky("daily", k=3)
    assert flips() == {"t.old_flaky": 4}
    settings.ASSAY_HISTORY_RUNS = 4  # P P P P
    refresh_flaky("daily", k=1)
    assert flips() == {}
    refresh_flaky("daily", n=5, k=1)  # F P P P P
    assert flips() == {"t.old_flaky": 1}


def test_deleted_runs_leave_the_window():
    runs = flaky_days({"t.x": "PPFP"})
    refresh_flaky("daily", k=2)
    assert flips() == {"t.x": 2}
    runs[2].deleted_at = timezone.now()
    runs[2].save()
    refresh_flaky("daily", k=1)
    assert flips() == {}


def test_the_identity_includes_the_host():
    flaky_days({"t.x": "PFPF"}, host="h1")
    flaky_days({"t.x": "PPPP"}, host="h2")
    refresh_flaky("daily", k=3)
    assert list(FlakyTest.objects.values_list("host", "flips")) == [("h1", 3)]


def test_a_refresh_replaces_one_prefix_only(settings):
    settings.ASSAY_RECURRING_PREFIXES = ["daily", "nightly"]
    flaky_days({"t.x": "PFPF"}, prefix="daily")
    flaky_days({"t.y": "FPFP"}, prefix="nightly")
    refresh_flaky("daily", k=3)
    refresh_flaky("nightly", k=3)
    factories.result(factories.run("nightly_2026-11-05"), "t.y", "P")  # no more flips...
    FlakyTest.objects.filter(series="nightly").update(flips=99)  # ...and a marker
    refresh_flaky("daily", k=3)
    assert flips("daily") == {"t.x": 3}
    assert flips("nightly") == {"t.y": 99}  # untouched


def test_a_second_refresh_writes_the_same_rows():
    flaky_days(SERIES)
    fields = ["series", "project", "host", "context", "test_name", "flips", "runs"]
    fields += ["last_status", "last_result", "window_end"]
    refresh_flaky("daily", k=2)
    first = list(FlakyTest.objects.order_by("test_name").values(*fields))
    refresh_flaky("daily", k=2)
    assert list(FlakyTest.objects.order_by("test_name").values(*fields)) == first
    assert len(first) == 5


def test_a_fixed_test_stops_being_flaky():
    flaky_days({"t.x": "PFPF"})
    refresh_flaky("daily", k=3)
    assert flips() == {"t.x": 3}
    for day in ("05", "06", "07", "08"):
        factories.result(factories.run(f"daily_2026-11-{day}"), "t.x", "P")
    refresh_flaky("daily", k=3, n=4)
    assert flips() == {}


def test_one_run_has_no_flips_and_unknown_series_are_refused():
    flaky_days({"t.x": "P"})
    assert refresh_flaky("daily").flaky == 0
    with pytest.raises(AssayError, match="no run is in the series 'weekly'"):
        refresh_flaky("weekly")


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_prefix_both_succeed(django_db_blocker):
    """A job and `refresh_flaky` at once: the second waits for the first, then replaces its
    rows, instead of inserting rows the first has just committed."""
    import threading

    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers; the race exists on PostgreSQL (--db=postgresql)")
    flaky_days({f"t.{i:03d}": "PFPF" for i in range(300)})
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def refresh() -> None:
        try:
            with django_db_blocker.unblock():
                start.wait()
                refresh_flaky("daily", k=3)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert FlakyTest.objects.count() == 300


# --- the job ----------------------------------------------------------------------------------


def test_the_job_refreshes_its_prefix_and_a_second_delivery_is_skipped():
    flaky_days({"t.x": "PFPF"})
    job = FlakinessJob.objects.create(series="daily")
    assert run_job("results.FlakinessJob", job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.flaky == 1
    assert job.progress_done == job.progress_total == 3
    assert flips() == {"t.x": 3}
    assert run_job("results.FlakinessJob", job.pk) == "skipped"


def test_a_redelivered_job_recomputes_the_same_rows():
    flaky_days({"t.x": "PFPF"})
    job = FlakinessJob.objects.create(series="daily")
    assert run_job("results.FlakinessJob", job.pk) == "succeeded"
    before = list(FlakyTest.objects.values("test_name", "flips", "last_result"))
    # A worker died after the work but before the finish: the reaper hands the row out again.
    FlakinessJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert run_job("results.FlakinessJob", job.pk) == "succeeded"
    assert list(FlakyTest.objects.values("test_name", "flips", "last_result")) == before


def test_queueing_is_debounced_per_prefix(settings, django_capture_on_commit_callbacks):
    settings.ASSAY_RECURRING_PREFIXES = ["daily", "nightly"]
    with django_capture_on_commit_callbacks(execute=False):
        first = queue_flaky_refresh("daily")
        assert queue_flaky_refresh("daily") is None  # one is queued already
        assert queue_flaky_refresh("nightly") is not None  # another prefix is not held back
    assert FlakinessJob.objects.filter(series="daily").count() == 1
    FlakinessJob.objects.filter(pk=first.pk).update(state=JobState.RUNNING)
    # A running job may have read the runs already: a write now needs a new one.
    assert queue_flaky_refresh("daily") is not None


def test_old_finished_jobs_are_pruned_when_queueing():
    old = FlakinessJob.objects.create(series="daily", state=JobState.SUCCEEDED)
    FlakinessJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=8))
    recent = FlakinessJob.objects.create(
        series="daily", state=JobState.SUCCEEDED, finished_at=timezone.now()
    )
    queue_flaky_refresh("daily")
    assert not FlakinessJob.objects.filter(pk=old.pk).exists()
    assert FlakinessJob.objects.filter(pk=recent.pk).exists()


# --- writes queue a refresh --------------------------------------------------------------


def _parsed(name: str, status: str, run: str) -> ParsedResult:
    return ParsedResult(test_name=name, status=status, test_run=run)


def test_writes_to_recurring_runs_queue_one_refresh_after_commit(
    django_capture_on_commit_callbacks,
):
    from django_q.models import OrmQ

    with django_capture_on_commit_callbacks(execute=True):
        record_run([_parsed("t.x", "P", "daily_2026-11-01"), _parsed("t.y", "F", "pr-7")])
        record_run([_parsed("t.x", "F", "daily_2026-11-02")])
    job = FlakinessJob.objects.get()  # debounced: the first is still queued
    assert job.series == "daily" and job.state == JobState.QUEUED
    tasks = [t.task["args"] for t in OrmQ.objects.all()]
    assert [args for args in tasks if args[0] == "results.FlakinessJob"] == [
        ("results.FlakinessJob", job.pk)
    ]


def test_writes_to_other_runs_queue_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record_run([_parsed("t.x", "P", "pr-7")])
    assert not FlakinessJob.objects.exists()


def test_check_expected_queues_a_refresh(django_capture_on_commit_callbacks):
    from results.services.expected import check_expected

    factories.expected("daily", "t.x")
    with django_capture_on_commit_callbacks(execute=True):
        check_expected("daily", "daily_2026-11-01")
    assert FlakinessJob.objects.get().series == "daily"


def test_deleting_runs_and_unexpecting_queue_a_refresh(django_capture_on_commit_callbacks):
    from results.models import TestResult
    from results.services.expected import check_expected, unexpect
    from results.services.purge import delete_runs_by_pattern

    record_run([_parsed("t.x", "P", "daily_2026-11-01")])
    factories.expected("daily", "t.gone")
    check_expected("daily", "daily_2026-11-01")
    FlakinessJob.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        unexpect(TestResult.objects.get(test_name="t.gone"))
    assert FlakinessJob.objects.get().series == "daily"
    FlakinessJob.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        delete_runs_by_pattern("daily_2026-11-01", wild=False, dry_run=False)
    assert FlakinessJob.objects.get().series == "daily"


def test_the_import_runs_the_job_through_django_q(monkeypatch, django_capture_on_commit_callbacks):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)  # the task runs as it is queued
    for day, status in enumerate("PFPF", start=1):
        with django_capture_on_commit_callbacks(execute=True):
            record_run([_parsed("t.x", status, f"daily_2026-11-0{day}")])
    assert flips() == {"t.x": 3}
    assert set(FlakinessJob.objects.values_list("state", flat=True)) == {JobState.SUCCEEDED}


# --- any series, ordered by start time; passes on retry --------------------------------------


def builds(statuses: dict[str, str], series: str = "ci", retried: dict | None = None) -> list:
    """Builds named by commit, two or more a day: one per column, started an hour apart,
    created in reverse order (the order is the start time, not the id)."""
    from datetime import UTC, datetime, timedelta

    width = len(next(iter(statuses.values())))
    runs = []
    for i in reversed(range(width)):
        run = factories.run(
            f"{series}-{i:03x}", series=series,
            started_at=datetime(2026, 11, 2, 6, tzinfo=UTC) + timedelta(hours=i),
        )  # fmt: skip
        for name, column in statuses.items():
            result = factories.result(run, name, column[i])
            if (retried or {}).get(name, "")[i : i + 1] == "r":
                TestResult.objects.filter(pk=result.pk).update(retries=1)
        runs.append(run)
    return runs[::-1]


def test_any_series_is_ordered_by_start_time():
    runs = builds({"t.x": "PFPF", "t.y": "PPFF"})
    summary = refresh_flaky("ci", k=2)
    assert [r.pk for r in summary.window] == [r.pk for r in runs]
    assert flips("ci") == {"t.x": 3}
    row = FlakyTest.objects.get()
    assert (row.series, row.window_end, row.last_status) == ("ci", runs[-1], "F")


def test_a_pass_on_retry_counts_as_a_flip():
    builds({"t.retry": "PPPP", "t.steady": "PPPP"}, retried={"t.retry": "-r-r"})
    refresh_flaky("ci", k=2)
    assert flips("ci") == {"t.retry": 2}
    assert FlakyTest.objects.get().retried == 2


def test_a_series_without_runs_is_refused():
    with pytest.raises(AssayError, match="no run"):
        refresh_flaky("nothing-here")


def test_imports_queue_a_refresh_of_their_series(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record_run(
            [ParsedResult("t.a", "P", test_run="build-1")],
            ImportDefaults(build=BuildInfo(series="ci")),
        )
    assert FlakinessJob.objects.get().series == "ci"
