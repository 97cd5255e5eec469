"""Purging old runs: delete_runs marks, clean_results removes rows in bounded chunks.

Pandokia's split (delete_run, then clean) keeps deletion instant and the heavy work in one
place that takes short transactions, so imports and readers are never blocked for long.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core import jobs
from core.exceptions import AssayError, NotFound
from core.progress import Progress
from results.models import CleanJob, TestResult, TestRun
from results.services.flaky import refresh_flaky_on_commit
from results.services.runs import resolve_run_name


def _glob_regex(pattern: str) -> str:
    """`daily_2009-03-*` -> ^daily_2009\\-03\\-.*$ ; a regex both SQLite and PostgreSQL run."""
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch.isalnum() or ch == "_":
            out.append(ch)
        else:
            out.append("\\" + ch)
    return "^" + "".join(out) + "$"


def find_runs(pattern: str, *, wild: bool = False) -> QuerySet[TestRun]:
    """Live runs matched by a name (aliases allowed) or, with wild, a * ? pattern."""
    pattern = (pattern or "").strip()
    if not pattern:
        raise AssayError("Give a run name or, with --wild, a pattern.", code="pattern_required")
    live = TestRun.objects.filter(deleted_at__isnull=True)
    if any(ch in pattern for ch in "*?"):
        if not wild:
            raise AssayError(
                f"{pattern!r} has wildcards; add --wild to delete every run it matches.",
                code="wildcards_need_wild",
            )
        return live.filter(name__regex=_glob_regex(pattern)).order_by("name")
    return live.filter(name=resolve_run_name(pattern))


@dataclass
class DeleteSummary:
    deleted: list[str] = field(default_factory=list)
    refused_valuable: list[str] = field(default_factory=list)
    results: int = 0  # results the deleted runs hold (removed later by clean_results)


def delete_runs(runs: QuerySet[TestRun], *, dry_run: bool = False) -> DeleteSummary:
    """Mark runs deleted (instant; clean_results removes their rows). Valuable runs are kept
    and reported. With dry_run, only count."""
    summary = DeleteSummary()
    with transaction.atomic():
        # A dry run only counts: no reason to lock the runs while it does.
        matched = list((runs if dry_run else runs.select_for_update()).order_by("name"))
        targets = []
        for run in matched:
            if run.valuable:
                summary.refused_valuable.append(run.name)
            else:
                targets.append(run)
        summary.deleted = [run.name for run in targets]
        summary.results = TestResult.objects.filter(run__in=targets).count()
        if targets and not dry_run:
            TestRun.objects.filter(pk__in=[r.pk for r in targets]).update(deleted_at=timezone.now())
            refresh_flaky_on_commit(targets)  # their prefixes' windows changed
    return summary


def delete_runs_by_pattern(pattern: str, *, wild: bool, dry_run: bool) -> DeleteSummary:
    runs = find_runs(pattern, wild=wild)
    if not runs.exists():
        raise NotFound(f"No run matches {pattern!r}.", code="no_such_run")
    summary = delete_runs(runs, dry_run=dry_run)
    if not summary.deleted and summary.refused_valuable and not wild:
        raise AssayError(
            f"{summary.refused_valuable[0]} is marked valuable and is not deleted; "
            "unmark it in the admin first.",
            code="valuable_run",
        )
    return summary


@dataclass
class CleanSummary:
    results_deleted: int = 0
    runs_removed: int = 0


def clean_results(*, chunk: int | None = None, progress: Progress | None = None) -> CleanSummary:
    """Remove the results of deleted runs, `chunk` rows per short transaction, then the runs.

    Safe to run at any time and to interrupt: each chunk commits on its own, and a run
    re-imported under the same name is a different (live) row, untouched here."""
    chunk = chunk or settings.ASSAY_CLEAN_CHUNK
    summary = CleanSummary()
    dead = list(TestRun.objects.filter(deleted_at__isnull=False).values_list("pk", flat=True))
    if not dead:
        return summary
    total = TestResult.objects.filter(run_id__in=dead).count()
    if progress:
        progress(0, total, f"{total} results of {len(dead)} deleted runs")
    for run_id in dead:
        while True:
            with transaction.atomic():
                ids = list(
                    TestResult.objects.filter(run_id=run_id).values_list("pk", flat=True)[:chunk]
                )
                if not ids:
                    break
                deleted, _ = TestResult.objects.filter(pk__in=ids).delete()
            summary.results_deleted += deleted
            if progress:
                progress(summary.results_deleted, total, "deleting results")
        TestRun.objects.filter(pk=run_id, deleted_at__isnull=False).delete()
        summary.runs_removed += 1
    if progress:
        progress(summary.results_deleted, total, "done")
    return summary


def run_clean_job(job: CleanJob) -> dict:
    """CleanJob's work (registered in results.tasks); the totals land with its success."""
    summary = clean_results(progress=partial(jobs.heartbeat, job))
    job.log(f"removed {summary.results_deleted} results of {summary.runs_removed} runs")
    return {"rows_deleted": summary.results_deleted, "runs_removed": summary.runs_removed}
