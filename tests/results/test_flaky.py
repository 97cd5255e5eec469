from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from core.jobs import run_job
from core.models import JobState
from results import tasks
from results.importers import ParsedResult
from results.models import FlakinessJob, FlakyTest, TestResult
from results.services.flaky import queue_flaky_refresh, refresh_flaky
from results.services.imports import record_run
from results.services.runs import refresh_counts
from tests import factories

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


def days(series: dict[str, str], prefix: str = "daily", host: str = "h1") -> list:
    runs = []
    for i in range(len(next(iter(series.values())))):
        run = factories.run(f"{prefix}_2026-11-0{i + 1}")
        for name, statuses in series.items():
            if statuses[i] != "-":
                factories.result(run, name, statuses[i], host=host)
        refresh_counts(run)
        runs.append(run)
    return runs


def flips(prefix: str = "daily") -> dict[str, int]:
    return dict(FlakyTest.objects.filter(prefix=prefix).values_list("test_name", "flips"))


def test_flips_are_counted_as_documented():
    days(SERIES)
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
    days({"t.pfpf": "PFPF", "t.pfp": "PFPP"})
    refresh_flaky("daily", k=3)
    assert flips() == {"t.pfpf": 3}


def test_the_setting_is_the_default_threshold(settings):
    settings.ASSAY_FLAKY_FLIPS = 4
    days(SERIES)
    refresh_flaky("daily")
    assert flips() == {"t.alternating": 4, "t.errors": 4}


def test_rows_say_the_runs_it_ran_in_and_its_newest_result_of_any_status():
    runs = days(SERIES)
    refresh_flaky("daily", k=3)
    row = FlakyTest.objects.get(test_name="t.last_missing")
    assert (row.runs, row.last_status, row.window_end) == (4, "M", runs[-1])
    assert row.last_result == TestResult.objects.get(run=runs[-1], test_name="t.last_missing")
    absent = FlakyTest.objects.get(test_name="t.alternating")
    assert absent.runs == 5 and absent.last_status == "P"


def test_only_the_last_n_runs_count(settings):
    days({"t.old_flaky": "PFPFPPPP"})
    refresh_flaky("daily", k=3)
    assert flips() == {"t.old_flaky": 4}
    settings.ASSAY_HISTORY_RUNS = 4  # P P P P
    refresh_flaky("daily", k=1)
    assert flips() == {}
    refresh_flaky("daily", n=5, k=1)  # F P P P P
    assert flips() == {"t.old_flaky": 1}


def test_deleted_runs_leave_the_window():
    runs = days({"t.x": "PPFP"})
    refresh_flaky("daily", k=2)
    assert flips() == {"t.x": 2}
    runs[2].deleted_at = timezone.now()
    runs[2].save()
    refresh_flaky("daily", k=1)
    assert flips() == {}


def test_the_identity_includes_the_host():
    days({"t.x": "PFPF"}, host="h1")
    days({"t.x": "PPPP"}, host="h2")
    refresh_flaky("daily", k=3)
    assert list(FlakyTest.objects.values_list("host", "flips")) == [("h1", 3)]


def test_a_refresh_replaces_one_prefix_only(settings):
    settings.ASSAY_RECURRING_PREFIXES = ["daily", "nightly"]
    days({"t.x": "PFPF"}, prefix="daily")
    days({"t.y": "FPFP"}, prefix="nightly")
    refresh_flaky("daily", k=3)
    refresh_flaky("nightly", k=3)
    factories.result(factories.run("nightly_2026-11-05"), "t.y", "P")  # no more flips...
    FlakyTest.objects.filter(prefix="nightly").update(flips=99)  # ...and a marker
    refresh_flaky("daily", k=3)
    assert flips("daily") == {"t.x": 3}
    assert flips("nightly") == {"t.y": 99}  # untouched


def test_a_second_refresh_writes_the_same_rows():
    days(SERIES)
    fields = ["prefix", "project", "host", "context", "test_name", "flips", "runs"]
    fields += ["last_status", "last_result", "window_end"]
    refresh_flaky("daily", k=2)
    first = list(FlakyTest.objects.order_by("test_name").values(*fields))
    refresh_flaky("daily", k=2)
    assert list(FlakyTest.objects.order_by("test_name").values(*fields)) == first
    assert len(first) == 5


def test_a_fixed_test_stops_being_flaky():
    days({"t.x": "PFPF"})
    refresh_flaky("daily", k=3)
    assert flips() == {"t.x": 3}
    for day in ("05", "06", "07", "08"):
        factories.result(factories.run(f"daily_2026-11-{day}"), "t.x", "P")
    refresh_flaky("daily", k=3, n=4)
    assert flips() == {}


def test_one_run_has_no_flips_and_unknown_prefixes_are_refused():
    days({"t.x": "P"})
    assert refresh_flaky("daily").flaky == 0
    with pytest.raises(Exception, match="not a recurring prefix"):
        refresh_flaky("weekly")


# --- the job ----------------------------------------------------------------------------------


def test_the_job_refreshes_its_prefix_and_a_second_delivery_is_skipped():
    days({"t.x": "PFPF"})
    job = FlakinessJob.objects.create(prefix="daily")
    assert run_job("results.FlakinessJob", job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.flaky == 1
    assert job.progress_done == job.progress_total == 3
    assert flips() == {"t.x": 3}
    assert run_job("results.FlakinessJob", job.pk) == "skipped"


def test_a_redelivered_job_recomputes_the_same_rows():
    days({"t.x": "PFPF"})
    job = FlakinessJob.objects.create(prefix="daily")
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
    assert FlakinessJob.objects.filter(prefix="daily").count() == 1
    FlakinessJob.objects.filter(pk=first.pk).update(state=JobState.RUNNING)
    # A running job may have read the runs already: a write now needs a new one.
    assert queue_flaky_refresh("daily") is not None


def test_old_finished_jobs_are_pruned_when_queueing():
    old = FlakinessJob.objects.create(prefix="daily", state=JobState.SUCCEEDED)
    FlakinessJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=8))
    recent = FlakinessJob.objects.create(
        prefix="daily", state=JobState.SUCCEEDED, finished_at=timezone.now()
    )
    queue_flaky_refresh("daily")
    assert not FlakinessJob.objects.filter(pk=old.pk).exists()
    assert FlakinessJob.objects.filter(pk=recent.pk).exists()


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
    assert job.prefix == "daily" and job.state == JobState.QUEUED
    assert [t.task["args"] for t in OrmQ.objects.all()] == [("results.FlakinessJob", job.pk)]


def test_writes_to_other_runs_queue_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record_run([_parsed("t.x", "P", "pr-7")])
    assert not FlakinessJob.objects.exists()


def test_check_expected_queues_a_refresh(django_capture_on_commit_callbacks):
    from results.services.expected import check_expected

    factories.expected("daily", "t.x")
    with django_capture_on_commit_callbacks(execute=True):
        check_expected("daily", "daily_2026-11-01")
    assert FlakinessJob.objects.get().prefix == "daily"


def test_the_import_runs_the_job_through_django_q(monkeypatch, django_capture_on_commit_callbacks):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)  # the task runs as it is queued
    for day, status in enumerate("PFPF", start=1):
        with django_capture_on_commit_callbacks(execute=True):
            record_run([_parsed("t.x", status, f"daily_2026-11-0{day}")])
    assert flips() == {"t.x": 3}
    assert set(FlakinessJob.objects.values_list("state", flat=True)) == {JobState.SUCCEEDED}


def test_the_scheduled_task_queues_every_prefix(settings, django_capture_on_commit_callbacks):
    settings.ASSAY_RECURRING_PREFIXES = ["daily", "nightly"]
    with django_capture_on_commit_callbacks(execute=False):
        assert tasks.refresh_flaky_all() == 2
        assert tasks.refresh_flaky_all() == 0
    assert sorted(FlakinessJob.objects.values_list("prefix", flat=True)) == ["daily", "nightly"]


# --- command, page, API -----------------------------------------------------------------------


def test_command_refreshes_named_or_all_prefixes(capsys):
    days({"t.x": "PFPF"})
    call_command("refresh_flaky", "daily", "--no-progress")
    assert "daily: 1 flaky test(s) in 4 run(s) (up to daily_2026-11-04)" in capsys.readouterr().out
    FlakyTest.objects.all().delete()
    call_command("refresh_flaky", "--no-progress")
    assert flips() == {"t.x": 3}
    with pytest.raises(CommandError, match="'weekly' is not a recurring prefix"):
        call_command("refresh_flaky", "weekly", "--no-progress")


def test_flaky_page_lists_tests_by_flips_with_filters(client):
    days({"t.most": "PFPFP", "t.three": "PFPFF", "t.steady": "PPPPP"})
    days({"t.other_project": "PFPFP"}, host="h9")
    TestResult.objects.filter(test_name="t.other_project").update(
        project=factories.project("other")
    )
    refresh_flaky("daily", k=3)
    html = client.get("/flaky/").content.decode()
    assert html.index("t.most") < html.index("t.three") and "t.steady" not in html
    latest = TestResult.objects.get(test_name="t.most", run__name="daily_2026-11-05")
    assert f'href="/results/{latest.pk}/">t.most</a>' in html
    only_other = client.get("/flaky/?prefix=daily&project=other").content.decode()
    assert "t.other_project" in only_other and "t.most" not in only_other
    assert "No flaky tests" in client.get("/flaky/?project=nobody").content.decode()


def test_flaky_page_runs_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    series = {f"t.flaky_{i:03d}": "PFPF" if i % 2 else "FPFP" for i in range(300)}
    days(series)
    refresh_flaky("daily", k=3)
    assert FlakyTest.objects.count() == 300
    with django_assert_max_num_queries(4):
        resp = client.get("/flaky/?page=2")
    assert resp.status_code == 200 and "page 2 of 3" in resp.content.decode()


def test_flaky_api_filters_by_prefix_and_project(api_client):
    days({"t.x": "PFPF"})
    refresh_flaky("daily", k=3)
    answer = api_client.get("/api/v1/flaky/?prefix=daily&project=proj").json()
    [row] = answer["results"]
    assert (row["test_name"], row["flips"], row["runs"], row["last_status"]) == ("t.x", 3, 4, "F")
    assert row["window_end"] == "daily_2026-11-04" and row["project"] == "proj"
    assert row["last_result_url"].endswith(f"/results/{row['last_result']}/")
    assert api_client.get("/api/v1/flaky/?project=nobody").json()["results"] == []
    assert api_client.post("/api/v1/flaky/", {}).status_code in (401, 403, 405)


def test_admin_shows_flaky_tests_and_jobs_read_only(admin_client):
    days({"t.x": "PFPF"})
    refresh_flaky("daily", k=3)
    FlakinessJob.objects.create(prefix="daily")
    assert "t.x" in admin_client.get("/admin/results/flakytest/").content.decode()
    assert "daily" in admin_client.get("/admin/results/flakinessjob/").content.decode()
    assert admin_client.get("/admin/results/flakytest/add/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_prefix_both_succeed(django_db_blocker):
    """A job and `refresh_flaky` at once: the second waits for the first, then replaces its
    rows, instead of inserting rows the first has just committed."""
    import threading

    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers; the race exists on PostgreSQL (--db=postgresql)")
    days({f"t.{i:03d}": "PFPF" for i in range(300)})
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


def test_a_nightly_refresh_is_scheduled_after_migrate():
    from django_q.models import Schedule

    from results.tasks import FLAKY_SCHEDULE_NAME

    schedule = Schedule.objects.get(name=FLAKY_SCHEDULE_NAME)
    assert schedule.func == "results.tasks.refresh_flaky_all"
    assert schedule.schedule_type == Schedule.DAILY


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
    assert FlakinessJob.objects.get().prefix == "daily"
    FlakinessJob.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        delete_runs_by_pattern("daily_2026-11-01", wild=False, dry_run=False)
    assert FlakinessJob.objects.get().prefix == "daily"
