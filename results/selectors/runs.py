"""Runs and their results."""

from __future__ import annotations

from django.db.models import QuerySet

from results.models import ExpectedTest, RunImport, TestResult, TestRun
from results.selectors.names import name_startswith
from results.selectors.triage import Mutes, current_mutes, with_muted


def live_runs() -> QuerySet[TestRun]:
    return TestRun.objects.filter(deleted_at__isnull=True)


def run_imports(run: TestRun, limit: int) -> tuple[list[RunImport], int]:
    """The run's newest `limit` imports (newest first), and how many it has had."""
    qs = RunImport.objects.filter(run=run)
    newest = list(qs[:limit])
    return newest, len(newest) if len(newest) < limit else qs.count()


def run_results(
    run: TestRun,
    *,
    status: str | None = None,
    project: str | None = None,
    name_prefix: str | None = None,
    with_log: bool = False,
    mutes: Mutes | None = None,
) -> QuerySet[TestResult]:
    """A run's results in test-name order; the log column is left out unless asked for. While
    anything is muted, each row says whether it is (`muted`)."""
    qs = TestResult.objects.filter(run=run).select_related("project")
    mutes = mutes if mutes is not None else current_mutes()
    if mutes.active:
        qs = with_muted(qs, mutes.now)
    if not with_log:
        qs = qs.defer("log")
    if status:
        qs = qs.filter(status__in=list(status)) if len(status) > 1 else qs.filter(status=status)
    if project:
        qs = qs.filter(project__name=project)
    if name_prefix:
        qs = qs.filter(name_startswith(name_prefix))
    return qs.order_by("test_name", "project__name", "host", "context")


def expected_tests(
    *, run_class: str | None = None, project: str | None = None
) -> QuerySet[ExpectedTest]:
    qs = ExpectedTest.objects.select_related("project")
    if run_class:
        qs = qs.filter(run_class=run_class)
    if project:
        qs = qs.filter(project__name=project)
    return qs
