"""Running a crash test (crashtest/harness/run.py) and keeping what it found: a CrashRun row
with its report, and the run in results (`crashtest_<date>`, one test per check)."""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from core.exceptions import AssayError
from core.secrets import scrub
from crashtest.harness.run import CrashTest, CrashTestError, Options
from crashtest.models import CrashRun
from results.services import ParsedResult, record_run

MAX_SEED = 2**31 - 1


def build_options(**given) -> Options:
    """Options from the CLI's or a caller's values, checked: AssayError names every problem."""
    if given.get("seed") is None:
        given["seed"] = secrets.randbelow(MAX_SEED)
    options = Options(**{k: v for k, v in given.items() if v is not None})
    problems = options.problems()
    if not 0 <= options.seed <= MAX_SEED:
        problems.append(f"--seed: from 0 to {MAX_SEED}")
    if not math.isfinite(options.watchdog_seconds) or options.watchdog_seconds < 2 * (
        options.lease_seconds
    ):
        problems.append(
            f"--watchdog: seconds, at least two leases ({2 * options.lease_seconds} s): a "
            "frozen worker's job comes back after a lease"
        )
    if problems:
        raise AssayError("; ".join(problems), code="bad_options")
    return options


def run_crashtest(
    options: Options,
    *,
    emit: Callable[[str], None] = lambda _: None,
    folder: Path | None = None,
    record: bool = True,
) -> CrashRun:
    """Run the crash test to its end and record it. The row exists from the start (state
    running), so the page shows a crash test in progress; its folder is the crash test's own."""
    row = CrashRun.objects.create(
        seed=options.seed,
        minutes=options.minutes,
        workers=options.workers,
        nemeses=list(options.nemeses),
        workloads=list(options.workloads),
        broker=options.broker,
        database=options.database,
    )
    folder = folder or Path(settings.ASSAY_CRASHTEST_DIR) / str(row.pk)
    CrashRun.objects.filter(pk=row.pk).update(folder=str(folder))
    try:
        report = CrashTest(options, folder, emit).run()
    except BaseException as exc:  # whatever stopped it (a second Ctrl-C too): not "running"
        close_old_connections()  # an hour later, the connection may be gone
        CrashRun.objects.filter(pk=row.pk).update(
            state=CrashRun.State.ERROR,
            error=scrub(f"{type(exc).__name__}: {exc}")[:2000],
            finished_at=timezone.now(),
        )
        if isinstance(exc, CrashTestError | OSError):
            raise AssayError(str(exc), code="crashtest_error") from None
        raise
    close_old_connections()
    row.refresh_from_db()
    row.report = report
    row.kills = report["counts"]["kills"]
    row.finished_at = timezone.now()
    if report["stopped_by"] in ("error", "interrupted") and not report["checks"]:
        row.state = CrashRun.State.ERROR
    else:
        row.state = CrashRun.State.PASSED if report["ok"] else CrashRun.State.FAILED
    row.error = scrub("\n".join(report["errors"]))
    row.save()  # the verdict first: recording in results comes on top of it
    if record:
        row.results_run = _record(row)
        row.save(update_fields=["results_run"])
    return row


def results_run_name(row: CrashRun) -> str:
    return f"crashtest_{timezone.localdate(row.created_at).isoformat()}"


def _record(row: CrashRun) -> str:
    """One test per check (failing where the check failed), and one for the crash test as a
    whole (failing when the watchdog stopped it or it could not finish)."""
    name = results_run_name(row)
    base = f"crashtest.{row.database}.{row.broker}"
    # The context names the crash test: a rerun of the same seed the same day is told apart.
    common = {
        "test_run": name,
        "project": "crashtest",
        "context": f"crash test {row.pk}, seed {row.seed}",
    }
    report = row.report
    out = [
        ParsedResult(
            test_name=f"{base}.run",
            status="P" if row.state == CrashRun.State.PASSED else "F",
            duration=report.get("duration"),
            log="\n".join([report.get("progress", ""), *report.get("errors", [])]),
            tra={
                "crash_run": str(row.pk),
                "stopped_by": report.get("stopped_by", ""),
                **{k: str(v) for k, v in report.get("counts", {}).items()},
            },
            **common,
        )
    ]
    for check in report.get("checks", []):
        slug = check["name"].replace(" ", "_")
        out.append(
            ParsedResult(
                test_name=f"{base}.{check['workload']}.{slug}",
                status="P" if check["ok"] or not check["fails_run"] else "F",
                log=check.get("detail", ""),
                tra={"value": str(check["value"])},
                **common,
            )
        )
    with transaction.atomic():
        record_run(out)
    return name
