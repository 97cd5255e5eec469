"""Flaky tests: tests whose status flipped at least k times in the last N runs of a series.

The runs of a series are ordered by (started_at, id): any number a day, named as CI likes. A
flip is a change of status between two consecutive runs of the window in which the test
ran. D (disabled) and M (missing) results are skipped, not compared: a test that did not run
neither flips nor breaks a streak, so P M P is no flip and P D F is one. Every other status
counts as itself (P F E and a site's own letters): F then E is a flip. A pass on retry (P with
retries > 0: it failed, then passed, within the run) counts as a flip too.

Computing this per page view would walk N x 100,000 results, so the answer is kept in
FlakyTest, one set of rows per series, recomputed in SQL (LAG over each test's results ordered
by the runs' start, which SQLite >= 3.25 and PostgreSQL both have) and replaced in one
transaction. A FlakinessJob does it after writes to a run of a series; `manage.py
refresh_flaky` directly.
"""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.exceptions import NotFound
from core.jobs import heartbeat, submit
from core.models import JobState
from core.progress import Progress
from results.models import FlakinessJob, FlakyTest, TestResult, TestRun

SKIPPED = ("D", "M")  # did not run: neither a flip nor the end of a streak
KEEP_FINISHED_JOBS = timedelta(days=7)


@dataclass
class FlakySummary:
    series: str
    window: list[TestRun] = field(default_factory=list)  # oldest first
    flaky: int = 0


def window_runs(series: str, n: int | None = None) -> list[TestRun]:
    """The last n live runs of a series, oldest first (the (series, started_at) index)."""
    n = n or settings.ASSAY_HISTORY_RUNS
    runs = TestRun.objects.filter(series=series, deleted_at__isnull=True).order_by(
        "-started_at", "-id"
    )[:n]
    return list(runs)[::-1]


def _check_series(series: str, window: list[TestRun]) -> None:
    """A name no run has is a typo, unless rows are left from runs since deleted."""
    if not series or (not window and not FlakyTest.objects.filter(series=series).exists()):
        raise NotFound(
            f"no run is in the series {series[:80]!r} (a run's series is given on import, or "
            "is the prefix of a recurring name such as daily_2026-11-23).",
            code="no_such_series",
        )


def _sql(n_runs: int) -> tuple[str, str, str]:
    q = connection.ops.quote_name
    r, w, f = (q(m._meta.db_table) for m in (TestResult, TestRun, FlakyTest))
    runs = ", ".join(["%s"] * n_runs)
    identity = "r.project_id, r.host, r.context, r.test_name"
    # 1. Each test's previous status (LAG, one sort of the window's results); only the rows
    # that flipped or passed on retry are grouped, so the GROUP BY sees a few rows, not a
    # million. A pass on retry after a different status is two flips: one between the runs,
    # one within the run.
    retried = "CASE WHEN status = 'P' AND retries > 0 THEN 1 ELSE 0 END"
    flipped = "CASE WHEN prev <> status THEN 1 ELSE 0 END"  # NULL prev (first run): no flip
    insert = f"""
        INSERT INTO {f} (series, project_id, host, context, test_name, flips, retried, runs,
                         last_status, window_end_id, computed_at)
        WITH seq AS (
            SELECT {identity}, r.status, r.retries,
                   LAG(r.status) OVER (PARTITION BY {identity}
                                       ORDER BY w.started_at, w.id) AS prev
            FROM {r} r JOIN {w} w ON w.id = r.run_id
            WHERE r.run_id IN ({runs}) AND r.status NOT IN ('D', 'M')
        )
        SELECT %s, project_id, host, context, test_name, SUM({flipped}) + SUM({retried}),
               SUM({retried}), 0, '', %s, %s
        FROM seq WHERE prev <> status OR (status = 'P' AND retries > 0)
        GROUP BY project_id, host, context, test_name
        HAVING SUM({flipped}) + SUM({retried}) >= %s
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
            ORDER BY w.started_at DESC, w.id DESC LIMIT 1)
        WHERE series = %s
    """  # noqa: S608
    last_status = f"""
        UPDATE {f} SET last_status = COALESCE(
            (SELECT r.status FROM {r} r WHERE r.id = {f}.last_result_id), ''),
          runs = (
            SELECT COUNT(*) FROM {r} r
            WHERE r.run_id IN ({runs}) AND r.project_id = {f}.project_id
              AND r.host = {f}.host AND r.context = {f}.context
              AND r.test_name = {f}.test_name AND r.status NOT IN ('D', 'M'))
        WHERE series = %s
    """  # noqa: S608
    return insert, last_id, last_status


def refresh_flaky(
    series: str,
    *,
    n: int | None = None,
    k: int | None = None,
    progress: Progress | None = None,
) -> FlakySummary:
    """Recompute the flaky tests of one series and replace its FlakyTest rows, in one
    transaction. Deterministic for the same runs: a second delivery writes the same rows.
    NotFound for a series no run has (and no rows are left of)."""
    n = n or settings.ASSAY_HISTORY_RUNS
    k = k or settings.ASSAY_FLAKY_FLIPS
    report = progress or (lambda done, total, message: None)
    summary = FlakySummary(series=series)
    report(0, 3, f"{series}: finding the last {n} runs")
    with transaction.atomic():
        _lock_series(series)
        summary.window = window = window_runs(series, n)
        _check_series(series, window)
        FlakyTest.objects.filter(series=series).delete()
        if len(window) < 2:  # one run has no flips
            report(3, 3, f"{series}: fewer than two runs, no flaky tests")
            return summary
        ids = [run.pk for run in window]
        insert, last_id, last_status = _sql(len(ids))
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            report(1, 3, f"{series}: counting flips over {len(ids)} runs")
            cursor.execute(insert, [*ids, series, window[-1].pk, now, k])
            summary.flaky = max(cursor.rowcount, 0)
            report(2, 3, f"{series}: {summary.flaky} flaky test(s); finding their latest results")
            cursor.execute(last_id, [*ids, series])
            cursor.execute(last_status, [*ids, series])
    report(3, 3, f"{series}: {summary.flaky} flaky test(s) in {len(window)} runs")
    return summary


def run_flakiness_job(job: FlakinessJob) -> dict:
    """FlakinessJob's work (registered in results.tasks); the total lands with its success."""
    summary = refresh_flaky(job.series, progress=partial(heartbeat, job))
    job.log(f"{job.series}: {summary.flaky} flaky test(s) in {len(summary.window)} run(s)")
    return {"flaky": summary.flaky}


def _lock_series(series: str) -> None:
    """Two refreshes of one series at once (a job and the command) would both delete, then
    both insert the same rows: the second waits here instead. SQLite serializes writers."""
    if connection.vendor == "postgresql":
        key = zlib.crc32(f"assay.flaky:{series}".encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def queue_flaky_refresh(series: str) -> FlakinessJob | None:
    """Queue a FlakinessJob for the series unless one is queued already (that one has not
    started, so it will read what was just written). Returns the new job, or None."""
    if FlakinessJob.objects.filter(series=series, state=JobState.QUEUED).exists():
        return None
    _prune_finished(series)
    return submit(FlakinessJob(series=series))


def known_series() -> list[str]:
    """Every series with a live run or flaky rows left (those of runs since deleted)."""
    live = TestRun.objects.filter(deleted_at__isnull=True).exclude(series="")
    names = set(live.order_by().values_list("series", flat=True).distinct())
    names |= set(FlakyTest.objects.order_by().values_list("series", flat=True).distinct())
    return sorted(names)


def queue_flaky_refresh_all() -> int:
    """Queue a refresh of every series (debounced); returns how many were queued."""
    return sum(queue_flaky_refresh(s) is not None for s in known_series())


def refresh_flaky_on_commit(runs: Iterable[TestRun]) -> None:
    """After writes to runs of a series: queue the series' refresh once the writes are
    committed. Checking for a queued job after the commit, not before, is what makes the
    debounce safe: a job still queued then has not read anything yet."""
    for series in sorted({run.series for run in runs if run.series}):
        transaction.on_commit(lambda series=series: queue_flaky_refresh(series), robust=True)


def _prune_finished(series: str) -> None:
    """Finished jobs of a week ago and their logs: a busy night queues many of them."""
    old = FlakinessJob.objects.filter(
        series=series,
        state__in=[JobState.SUCCEEDED, JobState.FAILED],
        finished_at__lt=timezone.now() - KEEP_FINISHED_JOBS,
    )
    for job in old:
        shutil.rmtree(job.log_dir, ignore_errors=True)
    old.delete()
