"""manage.py datagen run|work|status|resume|copy|export-logs|import-logs"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from core.engines import get_engine
from core.exceptions import AssayError
from datagen import selectors
from datagen.generator.loaders import LoaderError, TableExists, copy_between
from datagen.models import DatagenRun, OutputFormat
from datagen.services import demo, logs, runs
from datagen.services.engines import target_for
from datagen.services.work import held_chunks, work_run

POLL_SECONDS = 0.5


def _run_options(parser, *, spec_positional: bool) -> None:
    if spec_positional:
        parser.add_argument("spec", help="A bundled spec (fakedb, querygen) or a .yaml/.json file")
    else:
        parser.add_argument("--spec", required=True, help="The spec the logs' chunks belong to")
    parser.add_argument("--seed", type=int, default=None, help="Default: random (stored)")
    parser.add_argument("--out", default="", help="Output folder (default ASSAY_DATAGEN_ROOT/<id>)")
    parser.add_argument("--format", default=OutputFormat.PARQUET, choices=OutputFormat.values)
    parser.add_argument("--load", default=None, metavar="ENGINE", help="Engine to load into")
    parser.add_argument("--replace-tables", action="store_true", help="Drop and create tables")
    parser.add_argument("--attempts", type=int, default=3, help="Attempts per chunk (1-20)")
    parser.add_argument("--label", default="")


def _run_kwargs(opts) -> dict:
    return {
        "seed": opts["seed"],
        "output_format": opts["format"],
        "output_dir": str(Path(opts["out"]).resolve()) if opts["out"] else "",
        "load_engine": opts["load"],
        "replace_tables": opts["replace_tables"],
        "chunk_attempts": opts["attempts"],
        "label": opts["label"],
    }


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
        if seconds >= 3600
        else (f"{seconds // 60}m{seconds % 60:02d}s")
    )


class Command(BaseCommand):
    help = (
        "Chunked data generation: run, work, status, resume, copy, export-logs, import-logs, demo."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))

        run = sub.add_parser("run", help="Submit a run and work it (by default in this process)")
        _run_options(run, spec_positional=True)
        run.add_argument("--chunks", default="all", help="all, first:N, or ids: 0-63,70")
        run.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Local worker processes (0: leave the chunks to the qcluster workers)",
        )
        run.add_argument("--detach", action="store_true", help="Submit, print the id, return")
        run.add_argument("--no-progress", action="store_true")

        work = sub.add_parser("work", help="Work a run's queued chunks until none is left")
        work.add_argument("run", type=int)
        work.add_argument("--no-progress", action="store_true")

        status = sub.add_parser("status", help="Runs, or one run's chunks and limbo errors")
        status.add_argument("run", type=int, nargs="?")

        resume = sub.add_parser("resume", help="Queue again every chunk not completed")
        resume.add_argument("run", type=int)
        resume.add_argument("--work", action="store_true", help="Then work it in this process")
        resume.add_argument("--no-progress", action="store_true")

        copy = sub.add_parser("copy", help="Copy tables from one engine to another")
        copy.add_argument("source", help="Engine name")
        copy.add_argument("dest", help="Engine name")
        copy.add_argument("--tables", default="", help="Comma-separated (default: all)")
        copy.add_argument("--replace", action="store_true", help="Replace tables on dest")
        copy.add_argument("--batch-rows", type=int, default=100_000)
        copy.add_argument("--primary-key", action="append", default=[], metavar="TABLE=COL,COL")
        copy.add_argument("--index", action="append", default=[], metavar="TABLE=COL,COL")
        copy.add_argument("--no-progress", action="store_true")

        export = sub.add_parser("export-logs", help="Write LSST's four .clg chunk logs")
        export.add_argument("run", type=int)
        export.add_argument("folder")

        imp = sub.add_parser("import-logs", help="A new run from LSST .clg chunk logs")
        imp.add_argument("folder")
        _run_options(imp, spec_positional=False)

        sub.add_parser(
            "demo",
            help="First start: the querygen dataset into DuckDB and SQLite engines (once)",
        )

    def handle(self, *args, **opts):
        action = opts["action"].replace("-", "_")
        try:
            getattr(self, f"_{action}")(opts)
        except AssayError as exc:
            raise CommandError(exc.detail) from None
        except LoaderError as exc:
            raise CommandError(str(exc)) from None

    # --- run, work, resume ----------------------------------------------------------------------

    def _run(self, opts) -> None:
        if opts["workers"] < 0:
            raise CommandError("--workers must be 0 or more")
        spec = runs.read_spec_file(opts["spec"])
        run = runs.submit_run(spec, chunks=opts["chunks"], **_run_kwargs(opts))
        self.stdout.write(
            f"run {run.pk}: {spec.name}, seed {run.seed}, {run.chunk_count} chunk(s) "
            f"→ {run.output_path or 'no files'}"
            + (f", loading into {run.load_engine.name}" if run.load_engine else "")
        )
        if opts["detach"]:
            self.stdout.write(f"follow it with: manage.py datagen status {run.pk}")
            return
        self._work_and_follow(run, opts["workers"], opts["no_progress"])

    def _work(self, opts) -> None:
        self._work_and_follow(self._get(opts["run"]), 1, opts["no_progress"])

    def _resume(self, opts) -> None:
        run = self._get(opts["run"])
        s = runs.resume_run(run)
        self.stdout.write(
            f"run {run.pk}: {s.requeued} chunk(s) queued again, {s.completed} completed kept"
            + (f", {s.left_running} still held by a live worker" if s.left_running else "")
            + (", setup queued again" if s.setup_requeued else "")
        )
        for line in held_chunks(run):
            self.stdout.write(f"  waiting for {line}")
        if opts["work"]:
            self._work_and_follow(run, 1, opts["no_progress"])

    def _work_and_follow(self, run: DatagenRun, workers: int, quiet: bool) -> None:
        bar = tqdm(total=run.chunk_count, unit="chunk", disable=quiet, file=self.stderr._out)
        children: list[subprocess.Popen] = []

        def current() -> selectors.RunProgress:
            run.refresh_from_db()
            return selectors.run_progress(run)

        def update(_outcome: str = "") -> None:
            progress = current()
            bar.n = progress.done
            bar.set_postfix_str(
                f"{progress.phase}, {progress.rows:,} rows"
                + (f", {progress.rows_per_second:,.0f} rows/s" if progress.rows_per_second else "")
                + (f", {progress.counts['limbo']} in limbo" if progress.counts["limbo"] else ""),
                refresh=False,
            )
            bar.refresh()

        said: list[str] = []

        def waiting(lines: list[str]) -> None:
            # Said once per change: what this process waits for, and until when.
            if [line.split(", until")[0] for line in lines] != said:
                said[:] = [line.split(", until")[0] for line in lines]
                for line in lines:
                    bar.write(f"waiting for {line}", file=self.stderr._out)
            update()

        try:
            if workers == 1:
                work_run(run, on_chunk=update, on_wait=waiting)
            else:
                manage = Path(settings.BASE_DIR) / "manage.py"
                cmd = [sys.executable, str(manage), "datagen", "work", str(run.pk), "--no-progress"]
                # Their summaries would repeat this one: only their errors are shown.
                children = [
                    subprocess.Popen(cmd, stdout=subprocess.DEVNULL)  # noqa: S603 (no shell)
                    for _ in range(workers)
                ]
            # Wait for the end: children, qcluster workers, or the last chunks of other workers.
            while not current().finished:
                # This process (workers == 1) or its children worked the run: once nothing is
                # pending, finish it here (a worker that died may not have).
                worked_here = workers == 1 or (
                    children and all(c.poll() is not None for c in children)
                )
                if worked_here and not run.chunk_rows.filter(state__in=runs.PENDING).exists():
                    runs.finish_run_if_done(run.pk)
                    break
                update()
                time.sleep(POLL_SECONDS)
            update()
        except KeyboardInterrupt:
            bar.close()
            raise CommandError(
                f"interrupted; continue with: manage.py datagen resume {run.pk} --work"
            ) from None
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            bar.close()
        self._report(run)

    def _report(self, run: DatagenRun) -> None:
        run.refresh_from_db()
        progress = selectors.run_progress(run)
        self.stdout.write(
            f"run {run.pk} {progress.phase}: {progress.counts['completed']} completed, "
            f"{progress.counts['limbo']} in limbo, {progress.rows:,} rows, "
            f"{progress.bytes:,} bytes in {_human(progress.elapsed_seconds)}"
            + (f"; results: {run.results_run}" if run.results_run else "")
        )
        if run.state == "failed":
            raise CommandError(f"run {run.pk}: setup failed: {run.error}")
        if progress.counts["limbo"]:
            for chunk_id, error in progress.limbo[:10]:
                self.stdout.write(
                    f"  limbo chunk {chunk_id}: {error.splitlines()[0] if error else ''}"
                )
            raise CommandError(
                f"run {run.pk}: {progress.counts['limbo']} chunk(s) in limbo; "
                f"retry them with: manage.py datagen resume {run.pk} --work"
            )

    # --- status ---------------------------------------------------------------------------------

    def _status(self, opts) -> None:
        if opts["run"] is None:
            self.stdout.write(f"{'id':>6}  {'spec':<12} {'phase':<20} {'chunks':>13}  created")
            for run in DatagenRun.objects.order_by("-pk")[:30]:
                p = selectors.run_progress(run)
                created = timezone.localtime(run.created_at).strftime("%Y-%m-%d %H:%M")
                self.stdout.write(
                    f"{run.pk:>6}  {run.spec_name:<12} {p.phase:<20} "
                    f"{p.counts['completed']:>6}/{p.total:<6}  {created}"
                )
            return
        run = self._get(opts["run"])
        p = selectors.run_progress(run)
        self.stdout.write(
            f"run {run.pk}: {run.spec_name}, seed {run.seed}, chunks {run.chunks} — {p.phase}\n"
            + "  ".join(f"{name} {count}" for name, count in p.counts.items())
            + f"\n{p.rows:,} rows, {p.bytes:,} bytes"
            + (f", {p.rows_per_second:,.0f} rows/s" if p.rows_per_second else "")
            + (f", about {_human(p.seconds_left)} left" if p.seconds_left else "")
            + (f"\nresults run: {run.results_run}" if run.results_run else "")
            + (f"\nsetup error: {run.error}" if run.state == "failed" else "")
        )
        for chunk_id, error in p.limbo:
            self.stdout.write(f"limbo chunk {chunk_id}: {error.splitlines()[0] if error else ''}")

    # --- copy, logs -----------------------------------------------------------------------------

    def _copy(self, opts) -> None:
        source, dest = get_engine(opts["source"]), get_engine(opts["dest"])
        tables = [t.strip() for t in opts["tables"].split(",") if t.strip()] or None
        if opts["batch_rows"] < 1:
            raise CommandError("--batch-rows must be at least 1")
        bars: dict[str, tqdm] = {}

        def progress(table: str, done: int, total: int) -> None:
            if table not in bars:
                bars[table] = tqdm(
                    total=total, desc=table, unit="row", disable=opts["no_progress"],
                    file=self.stderr._out,
                )  # fmt: skip
            bars[table].n = done
            bars[table].refresh()

        try:
            copied = copy_between(
                target_for(source),
                target_for(dest),
                tables,
                batch_rows=opts["batch_rows"],
                primary_keys={t: c[0] for t, c in _table_columns(opts["primary_key"]).items()},
                indexes=_table_columns(opts["index"]),
                replace=opts["replace"],
                progress=progress,
            )
        except TableExists as exc:  # the library's "replace=True" is this command's option
            raise CommandError(f"{dest.name}: {str(exc).split(';')[0]}; add --replace") from None
        for bar in bars.values():
            bar.close()
        for table, rows in copied.items():
            self.stdout.write(f"{table}: {rows:,} rows copied to {dest.name}")

    def _export_logs(self, opts) -> None:
        counts = logs.export_logs(self._get(opts["run"]), opts["folder"])
        self.stdout.write(
            ", ".join(f"{name}.clg {count}" for name, count in counts.items())
            + f" → {opts['folder']}"
        )

    def _import_logs(self, opts) -> None:
        spec = runs.read_spec_file(opts["spec"])
        run = logs.import_logs(opts["folder"], spec, **_run_kwargs(opts))
        p = selectors.run_progress(run)
        self.stdout.write(
            f"run {run.pk}: {p.total} chunks from {opts['folder']} — {p.counts['completed']} "
            f"completed, {p.counts['limbo']} in limbo, {p.counts['target']} to generate; "
            f"work it with: manage.py datagen work {run.pk} (or let the qcluster workers)"
        )

    def _demo(self, opts) -> None:
        run = demo.load_demo()
        if run is None:
            self.stdout.write("Datagen runs exist already; demo dataset not generated.")
            return
        self.stdout.write(
            f"demo dataset: run {run.pk} ({run.spec_name}, seed {run.seed}) into "
            f"{run.load_engine.name}, copied to querygen-sqlite"
        )

    def _get(self, pk: int) -> DatagenRun:
        try:
            return DatagenRun.objects.select_related("load_engine").get(pk=pk)
        except DatagenRun.DoesNotExist:
            raise CommandError(f"no datagen run {pk}") from None


def _table_columns(items: list[str]) -> dict[str, list[list[str]]]:
    """--index T=a,b --index T=c → {"T": [["a", "b"], ["c"]]}"""
    out: dict[str, list[list[str]]] = {}
    for item in items:
        table, eq, cols = item.partition("=")
        columns = [c.strip() for c in cols.split(",") if c.strip()]
        if not eq or not table.strip() or not columns:
            raise CommandError(f"{item!r}: expected TABLE=COLUMN[,COLUMN...]")
        out.setdefault(table.strip(), []).append(columns)
    return out
