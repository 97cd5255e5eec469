"""manage.py crashtest: Wallaroo's master-crasher for Assay's own workers (docs/crashtest.md)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import AssayError
from crashtest.harness.nemesis import NEMESES
from crashtest.harness.run import WORKLOADS
from crashtest.services.crashruns import build_options, run_crashtest

WIDTH = 100


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


class Command(BaseCommand):
    help = (
        "Start N qcluster workers on a throwaway site, run workloads while nemeses kill, "
        "pause and restart them, then check that nothing was lost or done twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=3)
        parser.add_argument("--minutes", type=float, default=1.0, help="How long the chaos lasts")
        parser.add_argument(
            "--nemesis", default="kill,pause,grow-shrink", help=f"Any of {','.join(NEMESES)}"
        )
        parser.add_argument(
            "--workload", default=",".join(WORKLOADS), help=f"Any of {','.join(WORKLOADS)}"
        )
        parser.add_argument("--seed", type=int, default=None, help="Default: random (printed)")
        parser.add_argument("--broker", default="orm", help="orm or redis (a private redis-server)")
        parser.add_argument(
            "--database", default="sqlite", help="sqlite, or postgresql (a private server)"
        )
        parser.add_argument("--lease", type=int, default=5, help="The site's job lease, seconds")
        parser.add_argument(
            "--watchdog", type=float, default=60.0, help="Pause the world after N s without a job"
        )
        parser.add_argument("--folder", default=None, help="Default: ASSAY_CRASHTEST_DIR/<id>")
        parser.add_argument("--no-record", action="store_true", help="Do not record in results")

    def handle(self, *args, **opts):
        try:
            options = build_options(
                workers=opts["workers"],
                minutes=opts["minutes"],
                nemeses=_names(opts["nemesis"]),
                workloads=_names(opts["workload"]),
                seed=opts["seed"],
                broker=opts["broker"],
                database=opts["database"],
                lease_seconds=opts["lease"],
                watchdog_seconds=opts["watchdog"],
            )
        except AssayError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(
            f"crash test: {options.workers} workers, {options.minutes:g} min of "
            f"{','.join(options.nemeses) or 'no nemesis'} on {','.join(options.workloads)}, "
            f"seed {options.seed}, {options.broker} broker, {options.database}"
        )
        column = 0

        def emit(mark: str) -> None:
            nonlocal column
            if column + len(mark) > WIDTH:
                self.stdout.write("")
                column = 0
            self.stdout.write(mark, ending="")
            self.stdout.flush()
            column += len(mark)

        try:
            row = run_crashtest(
                options,
                emit=emit,
                folder=Path(opts["folder"]).resolve() if opts["folder"] else None,
                record=not opts["no_record"],
            )
        except AssayError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write("")
        self._table(row.report)
        self.stdout.write(
            f"crash test {row.pk} {row.state.upper()}: {row.kills} kills, "
            f"{row.report.get('duration', 0):.0f} s; report: {row.folder}/report.json"
            + (f"; results: {row.results_run}" if row.results_run else "")
        )
        if row.state != "passed":
            why = [f"{c['workload']} {c['name']} {c['value']}" for c in row.failed_checks]
            raise CommandError(
                f"crash test {row.pk} {row.state}: " + "; ".join(why + row.report.get("errors", []))
            )

    def _table(self, report: dict) -> None:
        checks = report.get("checks", [])
        if not checks:
            return
        self.stdout.write(f"{'workload':<10} {'check':<24} {'value':>10}  result")
        for c in checks:
            verdict = "ok" if c["ok"] else ("FAILED" if c["fails_run"] else "")
            if not c["fails_run"] and c["ok"]:
                verdict = ""
            line = f"{c['workload']:<10} {c['name']:<24} {c['value']!s:>10}  {verdict}"
            if c.get("detail") and not c["ok"]:
                line += f"  {c['detail'][:200]}"
            self.stdout.write(line)
        sys.stdout.flush()
