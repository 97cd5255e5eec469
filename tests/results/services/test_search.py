"""results.services.search: the search's tests are added by a job after each import."""

import pytest

from core.jobs import run_job
from core.models import JobState
from results.models import KnownTest, SearchIndexJob, TestRun
from results.selectors.search import matching_tests
from results.services.imports import ImportDefaults, import_files
from results.services.search import index_pending_tests, queue_search_index
from results.tasks import index_tests

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]

JUNIT = b"""<testsuite name="s"><testcase classname="tests.A" name="test_one"/>
<testcase classname="tests.A" name="test_two"><failure message="no"/></testcase></testsuite>"""


def imported(run: str, capture, data: bytes = JUNIT) -> None:
    with capture(execute=True):  # the import's on-commit work, as after a real commit
        import_files([("r.xml", data)], ImportDefaults(run=run, project="p", host="h"))


def test_imports_queue_one_job_that_adds_their_tests(django_capture_on_commit_callbacks):
    imported("build-1", django_capture_on_commit_callbacks)
    imported("build-2", django_capture_on_commit_callbacks)
    [job] = SearchIndexJob.objects.all()  # debounced: the queued job serves both imports
    assert job.state == JobState.QUEUED and not KnownTest.objects.exists()
    assert set(TestRun.objects.values_list("search_pending", flat=True)) == {True}
    # Found before the job has run (read from the pending runs' results) ...
    assert [t.test_name for t in matching_tests("test_")] == [
        "tests.A.test_one",
        "tests.A.test_two",
    ]

    assert run_job("results.SearchIndexJob", job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.runs == 2
    assert sorted(KnownTest.objects.values_list("test_name", flat=True)) == [
        "tests.A.test_one", "tests.A.test_two",
    ]  # fmt: skip
    assert not TestRun.objects.filter(search_pending=True).exists()
    # ... and after, once each.
    assert [t.test_name for t in matching_tests("TEST_")] == [
        "tests.A.test_one",
        "tests.A.test_two",
    ]

    # The next import queues a new job; the finished one is cleared away.
    imported("build-3", django_capture_on_commit_callbacks, JUNIT.replace(b"test_two", b"test_3"))
    [queued] = SearchIndexJob.objects.all()
    assert queued.pk != job.pk and queued.state == JobState.QUEUED
    assert run_job("results.SearchIndexJob", queued.pk) == "succeeded"
    assert KnownTest.objects.count() == 3


def test_a_refused_import_marks_nothing_and_queues_nothing(django_capture_on_commit_callbacks):
    with pytest.raises(Exception, match="malformed"):
        imported("build-1", django_capture_on_commit_callbacks, b"<testsuite><testcase")
    assert not SearchIndexJob.objects.exists() and not TestRun.objects.exists()


def test_the_schedule_queues_a_job_only_for_pending_runs(django_capture_on_commit_callbacks):
    assert index_tests() == 0 and not SearchIndexJob.objects.exists()
    imported("build-1", django_capture_on_commit_callbacks)
    SearchIndexJob.objects.all().delete()  # as if its delivery had been lost with the broker
    assert index_tests() == 1
    assert index_tests() == 0  # one is queued already
    assert queue_search_index() is None
    [job] = SearchIndexJob.objects.all()
    run_job("results.SearchIndexJob", job.pk)
    assert KnownTest.objects.count() == 2 and index_tests() == 0


def test_indexing_twice_adds_nothing_the_second_time(django_capture_on_commit_callbacks):
    imported("build-1", django_capture_on_commit_callbacks)
    assert index_pending_tests() == 1
    TestRun.objects.update(search_pending=True)  # e.g. a job that died before its commit
    assert index_pending_tests() == 1
    assert KnownTest.objects.count() == 2
