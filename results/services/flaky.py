"""Flaky tests: tests whose status flipped at least k times in the last N runs of a prefix.

A flip is a change of status between two consecutive runs of the window in which the test
ran. D (disabled) and M (missing) results are skipped, not compared: a test that did not run
neither flips nor breaks a streak, so P M P is no flip and P D F is one. Every other status
counts as itself (P F E and a site's own letters): F then E is a flip.

Computing this per page view would walk N x 100,000 results, so the answer is kept in
FlakyTest, one set of rows per prefix, recomputed in SQL (LAG over each test's results ordered
by run date, which SQLite >= 3.25 and PostgreSQL both have) and replaced in one transaction.
A FlakinessJob does it after writes to a recurring run; `manage.py refresh_flaky` directly.
"""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.exceptions import AssayError
from core.jobs import heartbeat, submit
from core.models import JobState
from results.models import FlakinessJob, FlakyTest, TestResult, TestRun

Progress = Callable[[int, int | None, str], None]
SKIPPED = ("D", "M")  # did not run: neither a flip nor the end of a streak
KEEP_FINISHED_JOBS = timedelta(days=7)


@dataclass
class FlakySummary:
    prefix: str
    window: list[TestRun] = field(default_factory=list)  # oldest first
    flaky: int = 0


def window_runs(prefix: str, n: int | None = None) -> list[TestRun]:
    """The last n live runs of a recurring prefix, oldest first."""
    n = n or settings.ASSAY_HISTORY_RUNS
    runs = TestRun.objects.filter(
        prefix=prefix, run_date__isnull=False, deleted_at__isnull=True
    ).order_by("-run_date")[:n]
    return list(runs)[::-1]


def _validate_prefix(prefix: str) -> str:
    if prefix not in settings.ASSAY_RECURRING_PREFIXES:
        known = ", ".join(settings.ASSAY_RECURRING_PREFIXES)
        raise AssayError(
            f"{prefix[:80]!r} is not a recurring prefix (ASSAY_RECURRING_PREFIXES: {known}).",
            code="bad_prefix",
        )
    return prefix


def _sql(n_runs: int) -> tuple[str, str, str]:
    q = connection.ops.quote_name
    r, w, f = (q(m._meta.db_table) for m in (TestResult, TestRun, FlakyTest))
    runs = ", ".join(["%s"] * n_runs)
    identity = "r.project_id, r.host, r.context, r.test_name"
    # 1. Each test's previous status (LAG, one sort of the window's results); only the rows
    # that flipped are grouped, so the GROUP BY sees a few rows, not a million.
    insert = f"""
        INSERT INTO {f} (prefix, project_id, host, context, test_name, flips, runs,
                         last_status, window_end_id, computed_at)
        WITH seq AS (
            SELECT {identity}, r.status,
                   LAG(r.status) OVER (PARTITION BY {identity} ORDER BY w.run_date) AS prev
            FROM {r} r JOIN {w} w ON w.id = r.run_id
            WHERE r.run_id IN ({runs}) AND r.status NOT IN ('D', 'M')
        )
        SELECT %s, project_id, host, context, test_name, COUNT(*), 0, '', %s, %s
        FROM seq WHERE prev <> status  -- NULL for a test's first run: not a flip
        GROUP BY project_id, host, context, test_name HAVING COUNT(*) >= %s
    """  # noqa: S608 (table names from _meta, values as parameters)
    # 2, 3. For the flaky tests only (a few index lookups each): the newest result in the
    # window, whatever its status (a flaky test that went missing last night says so), and
    # the number of runs it ran in.
    last_id = f"""
        UPDATE {f} SET last_result_id = (
            SELECT r.id FROM {r} r JOIN {w} w ON w.id = r.run_id
            WHERE r.run_id IN ({runs}) AND r.project_id = {f}.project_id
              AND r.host = {f}.host AND r.context = {f}.context
              AND r.test_name = {f}.test_name
            ORDER BY w.run_date DESC LIMIT 1)
        WHERE prefix = %s
    """  # noqa: S608
    last_status = f"""
        UPDATE {f} SET last_status = COALESCE(
            (SELECT r.status FROM {r} r WHERE r.id = {f}.last_result_id), ''),
          runs = (
            SELECT COUNT(*) FROM {r} r
            WHERE r.run_id IN ({runs}) AND r.project_id = {f}.project_id
              AND r.host = {f}.host AND r.context = {f}.context
              AND r.test_name = {f}.test_name AND r.status NOT IN ('D', 'M'))
        WHERE prefix = %s
    """  # noqa: S608
    return insert, last_id, last_status


def refresh_flaky(
    prefix: str,
    *,
    n: int | None = None,
    k: int | None = None,
    progress: Progress | None = None,
) -> FlakySummary:
    """Recompute the flaky tests of one prefix and replace its FlakyTest rows, in one
    transaction. Deterministic for the same runs: a second delivery writes the same rows."""
    prefix = _validate_prefix(prefix)
    n = n or settings.ASSAY_HISTORY_RUNS
    k = k or settings.ASSAY_FLAKY_FLIPS
    report = progress or (lambda done, total, message: None)
    summary = FlakySummary(prefix=prefix)
    report(0, 3, f"{prefix}: finding the last {n} runs")
    with transaction.atomic():
        _lock_prefix(prefix)
        summary.window = window = window_runs(prefix, n)
        FlakyTest.objects.filter(prefix=prefix).delete()
        if len(window) < 2:  # one run has no flips
            report(3, 3, f"{prefix}: fewer than two runs, no flaky tests")
            return summary
        ids = [run.pk for run in window]
        insert, last_id, last_status = _sql(len(ids))
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            report(1, 3, f"{prefix}: counting flips over {len(ids)} runs")
            cursor.execute(insert, [*ids, prefix, window[-1].pk, now, k])
            summary.flaky = max(cursor.rowcount, 0)
            report(2, 3, f"{prefix}: {summary.flaky} flaky test(s); finding their latest results")
            cursor.execute(last_id, [*ids, prefix])
            cursor.execute(last_status, [*ids, prefix])
    report(3, 3, f"{prefix}: {summary.flaky} flaky test(s) in {len(window)} runs")
    return summary


def run_flakiness_job(job: FlakinessJob) -> dict:
    """FlakinessJob's work (registered in results.tasks); the total lands with its success."""
    summary = refresh_flaky(job.prefix, progress=partial(heartbeat, job))
    job.log(f"{job.prefix}: {summary.flaky} flaky test(s) in {len(summary.window)} run(s)")
    return {"flaky": summary.flaky}


def _lock_prefix(prefix: str) -> None:
    """Two refreshes of one prefix at once (a job and the command) would both delete, then
    both insert the same rows: the second waits here instead. SQLite serializes writers."""
    if connection.vendor == "postgresql":
        key = zlib.crc32(f"assay.flaky:{prefix}".encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def queue_flaky_refresh(prefix: str) -> FlakinessJob | None:
    """Queue a FlakinessJob for the prefix unless one is queued already (that one has not
    started, so it will read what was just written). Returns the new job, or None."""
    if FlakinessJob.objects.filter(prefix=prefix, state=JobState.QUEUED).exists():
        return None
    _prune_finished(prefix)
    return submit(FlakinessJob(prefix=prefix))


def queue_flaky_refresh_all() -> int:
    """Queue a refresh of every recurring prefix (debounced); returns how many were queued."""
    return sum(queue_flaky_refresh(p) is not None for p in settings.ASSAY_RECURRING_PREFIXES)


def refresh_flaky_on_commit(runs: Iterable[TestRun]) -> None:
    """After writes to recurring runs: queue their prefixes' refresh once the writes are
    committed. Checking for a queued job after the commit, not before, is what makes the
    debounce safe: a job still queued then has not read anything yet."""
    for prefix in sorted({run.prefix for run in runs if run.prefix and run.run_date}):
        transaction.on_commit(lambda prefix=prefix: queue_flaky_refresh(prefix), robust=True)


def _prune_finished(prefix: str) -> None:
    """Finished jobs of a week ago and their logs: a busy night queues many of them."""
    old = FlakinessJob.objects.filter(
        prefix=prefix,
        state__in=[JobState.SUCCEEDED, JobState.FAILED],
        finished_at__lt=timezone.now() - KEEP_FINISHED_JOBS,
    )
    for job in old:
        shutil.rmtree(job.log_dir, ignore_errors=True)
    old.delete()
