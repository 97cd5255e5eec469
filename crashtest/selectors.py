"""Read paths of the crash tester's pages: the crash tests newest first (without the bulk of
their reports), and one crash test shaped for its page: its options, checks, counts and
timeline (drawn by the pure crashtest/harness/timeline.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform

from crashtest.harness.timeline import render_timeline
from crashtest.models import CrashRun

# What the row says of a crash test's options; the report's options add the rest
# (lease_seconds, watchdog_seconds, ...).
OPTION_FIELDS = ("workers", "minutes", "nemeses", "workloads", "seed", "broker", "database")


def failed_count(checks: Any) -> int:
    """Checks that did not pass (CrashRun.failed_checks, on the checks alone)."""
    rows = checks if isinstance(checks, list) else []
    return sum(1 for c in rows if isinstance(c, dict) and not c.get("ok", True))


def _duration(run: CrashRun, reported: Any) -> float | None:
    """The report's duration, else the time from creation to the end (a crash test that ended
    before its report)."""
    if isinstance(reported, int | float) and not isinstance(reported, bool):
        return float(reported)
    if run.finished_at:
        return (run.finished_at - run.created_at).total_seconds()
    return None


# --- the list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    run: CrashRun
    duration: float | None
    failed_checks: int


def crash_runs() -> QuerySet[CrashRun]:
    """Newest first. The report stays in the database but for its checks and duration: an
    hour's report holds every completion's time, megabytes a row."""
    return (
        CrashRun.objects.defer("report")
        .annotate(
            report_checks=KeyTransform("checks", "report"),
            report_duration=KeyTransform("duration", "report"),
        )
        .order_by("-created_at", "-pk")
    )


def listed(rows: Iterable[CrashRun]) -> list[Listed]:
    """Rows of crash_runs() with what the list shows of their reports."""
    return [
        Listed(run, _duration(run, run.report_duration), failed_count(run.report_checks))
        for run in rows
    ]


# --- one crash test -----------------------------------------------------------------------------


def crash_run(pk: int) -> CrashRun:
    """Raises CrashRun.DoesNotExist."""
    return CrashRun.objects.get(pk=pk)


@dataclass(frozen=True)
class Check:
    workload: str
    name: str
    value: Any
    ok: bool
    fails_run: bool
    detail: str


@dataclass(frozen=True)
class Detail:
    options: list[tuple[str, str]]
    checks: list[Check]
    failed_checks: int
    counts: list[tuple[str, Any]]
    duration: float | None
    progress: str
    stopped_by: str
    timeline: str  # SVG; the renderer escapes every text of the report


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _options(run: CrashRun, report: dict) -> list[tuple[str, str]]:
    reported = report.get("options")
    reported = reported if isinstance(reported, dict) else {}
    shown = [(name, _shown(getattr(run, name))) for name in OPTION_FIELDS]
    shown += [(str(k), _shown(v)) for k, v in reported.items() if k not in OPTION_FIELDS]
    return shown


def _checks(report: dict) -> list[Check]:
    rows = report.get("checks")
    return [
        Check(
            workload=str(c.get("workload", "")),
            name=str(c.get("name", "")),
            value=c.get("value"),
            ok=bool(c.get("ok", True)),
            fails_run=bool(c.get("fails_run", False)),
            detail=str(c.get("detail") or ""),
        )
        for c in (rows if isinstance(rows, list) else [])
        if isinstance(c, dict)
    ]


def detail(run: CrashRun) -> Detail:
    """What the crash test's page shows; any part of the report may be missing (a crash test
    still running, or one that could not start)."""
    report = run.report if isinstance(run.report, dict) else {}
    counts = report.get("counts")
    checks = _checks(report)
    return Detail(
        options=_options(run, report),
        checks=checks,
        failed_checks=failed_count(report.get("checks")),
        counts=list(counts.items()) if isinstance(counts, dict) else [],
        duration=_duration(run, report.get("duration")),
        progress=str(report.get("progress") or ""),
        stopped_by=str(report.get("stopped_by") or ""),
        timeline=render_timeline(report),
    )
