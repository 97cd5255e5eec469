"""`manage.py import_results FILE...`: Pandokia's `pdk import *` for Assay."""

from __future__ import annotations

import glob
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from results.importers.base import BUILD_FIELDS
from results.management.commands._common import one_line_errors
from results.services.builds import build_from_fields, parse_attribute_pairs
from results.services.imports import ImportDefaults, import_paths

MAX_WARNINGS = 10


class Command(BaseCommand):
    help = (
        "Import result files (pdk logs, JUnit XML, Assay JSON; the format is detected). "
        "Each file is all-or-nothing: a refused file (whatever went wrong with it) is reported "
        "and the others still land. Exits with status 1 if any file was refused, 130 if "
        "interrupted (Ctrl-C); the summary line is printed either way."
    )

    # The system checks load every URL, so every view and API of every app: a CI job importing
    # one file would pay for that each time (the server runs them; `manage.py check` too).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="Files or glob patterns (quote them).")
        parser.add_argument("--run", default="", help="Run name where a file names none.")
        parser.add_argument("--project", default="", help="Project where a file names none.")
        parser.add_argument("--host", default="", help="Host where a file names none.")
        parser.add_argument("--context", default="", help="Context where a file names none.")
        build = parser.add_argument_group(
            "the build", "Describe the run; these win over what a file says (docs/results.md)."
        )
        build.add_argument("--series", default="", help="The series the run is a build of.")
        build.add_argument("--branch", default="")
        build.add_argument("--commit", default="")
        build.add_argument("--build-url", default="", help="Link to the CI build (http/https).")
        build.add_argument(
            "--started-at", default="",
            help="ISO 8601; orders the series (default: the earliest result start, else now).",
        )  # fmt: skip
        build.add_argument("--ended-at", default="", help="ISO 8601.")
        build.add_argument(
            "--attr", action="append", default=[], metavar="KEY=VALUE",
            help="A build attribute, e.g. env=prod (repeatable).",
        )  # fmt: skip
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **opts):
        paths: list[Path] = []
        for arg in opts["files"]:
            matches = sorted(glob.glob(arg)) if any(c in arg for c in "*?[") else [arg]
            if not matches:
                raise CommandError(f"{arg}: no file matches")
            paths.extend(Path(m) for m in matches)
        paths = [p for p in paths if not p.is_dir()]
        if not paths:
            raise CommandError("no files to import (only directories matched)")
        with one_line_errors():  # before any file is read: a bad option imports nothing
            build = build_from_fields(
                **{name: opts[name] for name in BUILD_FIELDS},
                attributes=parse_attribute_pairs(opts["attr"]),
            )
        defaults = ImportDefaults(
            run=opts["run"], project=opts["project"], host=opts["host"], context=opts["context"],
            build=build,
        )  # fmt: skip
        if opts["no_progress"] or len(paths) < 2:
            bar = _NoBar()  # a CI job's one file: tqdm's import is a tenth of the start-up
        else:
            from tqdm import tqdm

            bar = tqdm(total=len(paths), unit="file", file=self.stderr._out, leave=False)

        done = {"imported": 0, "refused": 0}

        def on_file(path, summary, error):
            bar.update(1)
            done["refused" if error is not None else "imported"] += 1
            if error is not None:
                bar.write(self.style.ERROR(f"REFUSED {error.detail}"), file=self.stderr._out)
                return
            for run in summary.runs:
                counts = " ".join(f"{k}={v}" for k, v in sorted(run.counts.items()))
                line = (
                    f"{path}: {summary.format}"
                    f"{'/' + summary.flavour if summary.flavour else ''} -> {run.run.name}: "
                    f"{run.imported} results ({counts}); {run.new} new, "
                    f"{run.reimported} re-imported, {run.replaced_missing} replaced missing"
                )
                bar.write(line, file=self.stdout._out)
            for warning in summary.warnings[:MAX_WARNINGS]:
                bar.write(f"{path}: warning: {warning}", file=self.stderr._out)
            if len(summary.warnings) > MAX_WARNINGS:
                more = len(summary.warnings) - MAX_WARNINGS
                bar.write(f"{path}: ... and {more} more warning(s)", file=self.stderr._out)

        try:
            import_paths(paths, defaults, on_file=on_file)
            interrupted = False
        except KeyboardInterrupt:  # the file being written rolls back; the summary still counts
            interrupted = True
        finally:
            bar.close()
        ok, failed = done["imported"], done["refused"]
        self.stdout.write(f"{ok} file(s) imported, {failed} refused")
        if interrupted:
            left = len(paths) - ok - failed
            raise CommandError(
                f"interrupted: {left} file(s) not imported (the one in progress wrote nothing)",
                returncode=130,
            )
        if failed:
            raise CommandError(f"{failed} file(s) refused; see the REFUSED lines above")


class _NoBar:
    """What import_results uses of a tqdm bar, without one."""

    def update(self, n: int = 1) -> None:
        pass

    def write(self, line: str, file) -> None:
        file.write(line + "\n")

    def close(self) -> None:
        pass
