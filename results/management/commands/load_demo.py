"""`manage.py load_demo [--force]`: three days of sample runs, so a first start shows something."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from results.demo import DEMO_RUN_CLASS, demo_file_defaults, write_demo_files
from results.management.commands._common import one_line_errors
from results.models import TestRun
from results.services.expected import check_expected, gen_expected
from results.services.imports import FileSummary, ImportDefaults, ImportFailed, import_paths
from results.services.runs import today


class Command(BaseCommand):
    help = (
        "Write sample result files (JUnit XML, pdk logs, Assay JSON) for the runs "
        f"{DEMO_RUN_CLASS}_<day before yesterday>, _<yesterday> and _<today> under "
        "VAR_DIR/demo/, import them as import_results does, then gen_expected from the first "
        "run and check_expected on the others. Does nothing if any run exists, unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Load even if runs exist (re-imports the demo)."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **opts):
        # Deleted-but-not-yet-cleaned runs count too: someone who deleted the demo runs does
        # not want them back at the next start.
        if TestRun.objects.exists() and not opts["force"]:
            self.stdout.write("Runs exist already; demo not loaded (use --force to load it).")
            return
        paths = write_demo_files(Path(settings.VAR_DIR) / "demo", today())
        # Shown only on a terminal and only if the import takes a while (delay).
        bar = tqdm(
            total=len(paths), unit="file", disable=True if opts["no_progress"] else None,
            delay=1.0, file=self.stderr._out, leave=False,
        )  # fmt: skip
        refused: list[str] = []

        def on_file(path: Path, summary: FileSummary | None, error: ImportFailed | None) -> None:
            bar.update(1)
            if error is not None:
                refused.append(error.detail)
                return
            for run in summary.runs:
                counts = " ".join(f"{k}={v}" for k, v in sorted(run.counts.items()))
                kind = summary.format + (f"/{summary.flavour}" if summary.flavour else "")
                bar.write(
                    f"{path}: {kind} -> {run.run.name}: {run.imported} results ({counts})",
                    file=self.stdout._out,
                )

        # One import per file: JUnit files name no run or project, the demo's layout does.
        for path in paths:
            import_paths([path], ImportDefaults(**demo_file_defaults(path)), on_file=on_file)
        bar.close()
        if refused:
            raise CommandError(f"demo file refused (a bug in results.demo): {refused[0]}")

        runs = sorted({path.parent.name for path in paths})
        with one_line_errors():
            gen = gen_expected(DEMO_RUN_CLASS, runs[0])
            self.stdout.write(
                f"gen_expected {DEMO_RUN_CLASS} {runs[0]}: {gen.added} expected test(s) added"
            )
            for name in runs[1:]:
                check = check_expected(DEMO_RUN_CLASS, name)
                self.stdout.write(
                    f"check_expected {DEMO_RUN_CLASS} {name}: {check.added} missing test(s)"
                )
        self.stdout.write(f"Demo loaded: {len(paths)} files, runs {', '.join(runs)}.")
