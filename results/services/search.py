"""The search's list of tests (KnownTest), kept up after imports by a background job.

An import marks the runs it wrote (TestRun.search_pending) and queues a SearchIndexJob once it
has committed; the job adds those runs' new test identities to KnownTest. On PostgreSQL each
new name costs dozens of trigram index entries (the substring search's index): 40% of a
50,000-result import when it was done inside it. Meanwhile the search also reads the pending
runs' results (results.selectors.search), so a test is found as soon as its import returns.
"""

from __future__ import annotations

from django.db import connection, transaction

from core.jobs import heartbeat, submit
from core.models import JobState
from results.models import KnownTest, SearchIndexJob, TestResult, TestRun


def remember_tests(run: TestRun) -> None:
    """Add the run's test identities that are new to KnownTest: one INSERT ... SELECT, each
    name a lookup in the unique index (SQLite and PostgreSQL both take ON CONFLICT)."""
    known, results = KnownTest._meta.db_table, TestResult._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {known} (project_id, host, context, test_name) "  # noqa: S608
            f"SELECT project_id, host, context, test_name FROM {results} WHERE run_id = %s "
            "ON CONFLICT DO NOTHING",
            [run.pk],
        )


def index_pending_tests(job: SearchIndexJob | None = None) -> int:
    """Add the tests of every pending run to KnownTest, a short transaction per run; returns
    how many runs were done. Idempotent: a run done twice adds nothing the second time.

    The run's row is locked first: an import still writing to it holds that lock until it
    commits, so its results are all seen here, and a run marked again by a later import stays
    marked for the next job."""
    pending = list(TestRun.objects.filter(search_pending=True).values_list("pk", flat=True))
    done = 0
    for n, pk in enumerate(pending):
        with transaction.atomic():
            run = TestRun.objects.select_for_update().filter(pk=pk, search_pending=True).first()
            if run is None:  # done by another job meanwhile
                continue
            remember_tests(run)
            TestRun.objects.filter(pk=pk).update(search_pending=False)
        done += 1
        if job is not None:
            heartbeat(job, n + 1, len(pending), f"{run.name}: tests added to the search")
    return done


def queue_search_index() -> SearchIndexJob | None:
    """Queue a SearchIndexJob unless one is queued already (that one has not started, so it
    will see every run marked so far). Returns the new job, or None."""
    if SearchIndexJob.objects.filter(state=JobState.QUEUED).exists():
        return None
    # Finished ones go: a busy night queues thousands, and they keep no log.
    SearchIndexJob.objects.filter(state=JobState.SUCCEEDED).delete()
    return submit(SearchIndexJob())


def queue_search_index_on_commit() -> None:
    """After an import: queue the job once the import's writes are committed (a job queued
    before could run before them and miss them)."""
    transaction.on_commit(queue_search_index, robust=True)


def run_search_index_job(job: SearchIndexJob) -> dict:
    """SearchIndexJob's work (registered in results.tasks)."""
    # No job log: one job follows nearly every import, and its row says what it did.
    return {"runs": index_pending_tests(job)}


def index_pending_now() -> int:
    """What a schedule calls: queue the job when runs are pending (a delivery lost with a
    broker that was down is caught here)."""
    if TestRun.objects.filter(search_pending=True).exists():
        return int(queue_search_index() is not None)
    return 0
