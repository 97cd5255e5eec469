"""manage.py gate dataset|project|check|recheck|show: the migration gate from a shell."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections
from django.utils import timezone
from tqdm import tqdm

from core import jobs
from core.exceptions import AssayError
from migrations_gate.models import Check, Dataset, DatasetKind, MigrationKind, Outcome, Project
from migrations_gate.runner.anonymize import MAX_RULES_BYTES
from migrations_gate.services import checks, datasets, demo, projects

POLL_SECONDS = 1.0
JOB = "migrations_gate.Check"
FAILING = (Outcome.FAILURE, Outcome.INTERNAL_ERROR)
# The markers a dataset's log holds around each migration (runner/steps.py).
_MARKER = re.compile(r" === (start|end) (.+)$")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _plain(text: str) -> str:
    return text  # progress on stderr is not an error: no error colour


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # unreachable


def read_rules(path: str) -> str:
    """The text of a rules file; the YAML itself is checked by the service."""
    file = Path(path)
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        raise CommandError(f"The rules file {path} does not exist.") from None
    except OSError as exc:
        raise CommandError(f"Cannot read the rules file {path}: {exc.strerror}.") from None
    if not file.is_file():
        raise CommandError(f"The rules file {path} is not a regular file.")
    if size > MAX_RULES_BYTES:
        raise CommandError(f"The rules file {path} is over {MAX_RULES_BYTES} bytes.")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CommandError(f"Cannot read the rules file {path}: {exc.strerror}.") from None
    # An empty file is most likely the wrong file: strict rules with no column would refuse
    # any text column anyway. `columns: {}` says "no rule" on purpose.
    if not data.strip():
        raise CommandError(f"The rules file {path} is empty.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"The rules file {path} is not UTF-8 text (byte {exc.start}): a binary file?"
        ) from None
    if "\x00" in text:
        raise CommandError(f"The rules file {path} is not text (a NUL byte): a binary file?")
    return text


def _local_path(repository: str) -> str:
    """A repository given as a local path, made absolute: workers do not run in this
    directory. URLs (and anything that is not an existing directory) are left as given."""
    if "://" not in repository and os.path.isdir(repository):
        return os.path.abspath(repository)
    return repository


class _Follower(threading.Thread):
    """Follows a check while it runs in the main thread: its row's progress, read on a
    connection of its own (a read that fails, the row being locked say, is skipped), and its
    datasets' logs, one line per migration as it ends."""

    def __init__(self, check: Check, bar: tqdm) -> None:
        super().__init__(name=f"gate-follow-{check.pk}", daemon=True)
        self.pk, self.log_dir, self.bar = check.pk, check.log_dir, bar
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.offsets: dict[Path, int] = {}
        self.message = ""
        self.running = ""

    def run(self) -> None:
        try:
            while not self.stopped.wait(POLL_SECONDS):
                try:
                    row = Check.objects.filter(pk=self.pk).first()
                except DatabaseError:
                    row = None
                self.poll(row)
        finally:
            connections.close_all()  # this thread's connections only

    def poll(self, row: Check | None) -> None:
        with self.lock:
            if row is not None:
                if row.progress_total is not None:
                    self.bar.total = row.progress_total
                done = (
                    row.is_finished and not row.has_failed
                )  # its last heartbeat came before the end
                self.bar.n = self.bar.total if done else row.progress_done
                self.message = (
                    (row.outcome or row.state) if row.is_finished else row.progress_message
                )
            for path in sorted(self.log_dir.glob("*.log")):
                if path.name != "job.log":
                    self._tail(path)
            self.bar.set_postfix_str(self.running or self.message, refresh=False)
            self.bar.refresh()

    def _tail(self, path: Path) -> None:
        start = self.offsets.get(path, 0)
        try:
            with path.open("rb") as fh:
                fh.seek(start)
                chunk = fh.read()
        except OSError:
            return
        whole = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits
        self.offsets[path] = start + len(whole)
        for line in whole.decode("utf-8", "replace").splitlines():
            found = _MARKER.search(line)
            if found is None:
                continue
            word, rest = found.groups()
            if word == "start":
                self.running = f"{path.stem}: {rest}"
            else:
                self.running = ""
                self.bar.write(f"{path.stem}: {rest}", file=self.bar.fp)

    def stop(self) -> None:
        self.stopped.set()
        self.join()


class Command(BaseCommand):
    help = "The migration gate: dataset, project, check, recheck, show."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(
            dest="action", required=True, parser_class=type(parser),
            metavar="{dataset,project,check,recheck,show}",
        )  # fmt: skip

        dataset = sub.add_parser(
            "dataset", help="Anonymized datasets: add, list, check-rules, remove"
        )
        ds = dataset.add_subparsers(
            dest="dataset_action", required=True, metavar="{add,list,check-rules,remove}"
        )
        add = ds.add_parser("add", help="Copy and anonymize a source as a dataset")
        add.add_argument("name", metavar="NAME")
        add.add_argument("--rules", required=True, metavar="FILE", help="Anonymization (YAML)")
        source = add.add_mutually_exclusive_group(required=True)
        source.add_argument("--engine", metavar="ENGINE", help="A PostgreSQL or SQLite Engine")
        source.add_argument("--sqlite", metavar="FILE", help="A SQLite file")
        source.add_argument("--dump", metavar="FILE", help="A PostgreSQL dump (custom or plain)")
        add.add_argument(
            "--server", metavar="ENGINE",
            help="PostgreSQL: the gate's server (an Engine row) the template is kept on",
        )  # fmt: skip
        ds.add_parser("list", help="The datasets")
        rules = ds.add_parser(
            "check-rules", help="What registration would refuse, without copying anything"
        )
        rules.add_argument("--rules", required=True, metavar="FILE")
        against = rules.add_mutually_exclusive_group()
        against.add_argument("--engine", metavar="ENGINE", help="Check against its schema")
        against.add_argument("--sqlite", metavar="FILE", help="Check against its schema")
        remove = ds.add_parser("remove", help="Remove a dataset and its copy")
        remove.add_argument("name", metavar="NAME")

        project = sub.add_parser("project", help="Gated projects: add, list")
        ps = project.add_subparsers(dest="project_action", required=True, metavar="{add,list}")
        padd = ps.add_parser("add", help="Gate a repository's migrations")
        padd.add_argument("name", metavar="NAME")
        padd.add_argument("--repository", required=True, metavar="URL_OR_PATH")
        padd.add_argument("--kind", required=True, choices=MigrationKind.values)
        padd.add_argument(
            "--target", default="", metavar="T",
            help="django: the settings module; alembic: its ini file; sql: the directory",
        )  # fmt: skip
        padd.add_argument("--directory", default="", metavar="D", help="In the repository")
        padd.add_argument(
            "--requirements", action="extend", nargs="+", default=[], metavar="FILE",
            help="Requirements files in the repository (default: the gate's own Python)",
        )  # fmt: skip
        padd.add_argument(
            "--dataset", action="append", required=True, dest="datasets", metavar="NAME",
            help="A dataset its changes run on (repeat for more)",
        )  # fmt: skip
        padd.add_argument(
            "--time-limit", type=int, default=None, metavar="SECONDS", help="Per dataset"
        )
        ps.add_parser("list", help="The gated projects and their last check")

        check = sub.add_parser("check", help="Check a ref of a project")
        check.add_argument("project", metavar="PROJECT")
        check.add_argument("ref", metavar="REF", help="A branch, tag, commit or change ref")
        check.add_argument(
            "--refspec", default="", help="Fetched from the origin first (src:dst), for a "
            "ref it does not advertise by name",
        )  # fmt: skip
        check.add_argument("--wait", action="store_true", help="Work it here, to its end")
        check.add_argument("--no-progress", action="store_true")

        recheck = sub.add_parser("recheck", help="Check a check's ref again")
        recheck.add_argument("check", type=int, metavar="ID")
        recheck.add_argument("--wait", action="store_true", help="Work it here, to its end")
        recheck.add_argument("--no-progress", action="store_true")

        show = sub.add_parser("show", help="A check's state, outcome, summary and logs")
        show.add_argument("check", type=int, metavar="ID")

        sub.add_parser(
            "demo-source", help="make run: the Engine row datagen loads the demo's shop into"
        )
        sub.add_parser(
            "demo", help="make run: register the demo's shop, gate the example project (once)"
        )

    def handle(self, *args, **opts):
        action = opts["action"]
        sub = opts.get(f"{action}_action")
        name = f"_{action}_{sub}" if sub else f"_{action}"
        try:
            getattr(self, name.replace("-", "_"))(opts)
        except AssayError as exc:
            raise CommandError(exc.detail) from None

    # --- the demo (make run) -------------------------------------------------------------------

    def _demo_source(self, opts) -> None:
        """Prints the source file's path, and whether datagen has loaded it."""
        engine = demo.ensure_demo_source()
        loaded = Path(engine.path).is_file()
        self.stdout.write(f"{engine.name} {engine.path} {'loaded' if loaded else 'empty'}")

    def _demo(self, opts) -> None:
        made = demo.ensure_demo()
        if made:
            self.stdout.write(
                f"gate demo: project {demo.DEMO_PROJECT} on dataset {demo.DEMO_DATASET}, checks "
                + ", ".join(f"{c.pk} ({c.ref})" for c in made)
                + " queued"
            )

    def _say(self, line: str) -> None:
        self.stderr.write(line, style_func=_plain)

    # --- datasets -------------------------------------------------------------------------------

    def _dataset_add(self, opts) -> None:
        rules = read_rules(opts["rules"])
        name = opts["name"]
        sqlite = os.path.abspath(opts["sqlite"]) if opts["sqlite"] else None
        dump = os.path.abspath(opts["dump"]) if opts["dump"] else None
        self._say(f"{name}: registering")
        dataset = datasets.register_dataset(
            name, rules=rules, engine=opts["engine"], sqlite_file=sqlite, dump_file=dump,
            server=opts["server"], progress=lambda line: self._say(f"{name}: {line}"),
        )  # fmt: skip
        rows = sum(dataset.tables.values())
        where = (
            dataset.path
            if dataset.kind == DatasetKind.SQLITE
            else f"{dataset.template} on {dataset.server}"
        )
        self.stdout.write(
            f"dataset {dataset.name} ({dataset.kind}): {len(dataset.tables)} tables, {rows} rows, "
            f"{_size(dataset.size_bytes)}, from {dataset.source}"
        )
        width = max((len(t) for t in dataset.tables), default=0)
        for table, count in sorted(dataset.tables.items()):
            self.stdout.write(f"  {table:<{width}} {count:>10} rows")
        version = self._version(dataset.schema_version)
        if version:
            self.stdout.write(f"  at: {version}")
        self.stdout.write(f"  kept as: {where}")

    @staticmethod
    def _version(schema_version: dict[str, Any]) -> str:
        parts = []
        for tool, at in sorted(schema_version.items()):
            if isinstance(at, dict):
                at = ", ".join(f"{k} {v}" for k, v in sorted(at.items()))
            parts.append(f"{tool}: {at}")
        return "; ".join(parts)

    def _dataset_list(self, opts) -> None:
        rows = Dataset.objects.prefetch_related("projects")
        if not rows:
            self.stdout.write("no datasets (add one: manage.py gate dataset add)")
            return
        self.stdout.write(
            f"{'name':<24} {'kind':<10} {'tables':>6} {'rows':>12} {'size':>10}  projects; source"
        )
        for d in rows:
            used = ", ".join(p.name for p in d.projects.all()) or "-"
            self.stdout.write(
                f"{d.name:<24} {d.kind:<10} {len(d.tables):>6} {sum(d.tables.values()):>12} "
                f"{_size(d.size_bytes):>10}  {used}; {d.source}"
            )

    def _dataset_check_rules(self, opts) -> None:
        rules = read_rules(opts["rules"])
        sqlite = os.path.abspath(opts["sqlite"]) if opts["sqlite"] else None
        problems = datasets.check_rules(rules, engine=opts["engine"], sqlite_file=sqlite)
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            n = len(problems)
            raise CommandError(f"{n} problem{'s' if n > 1 else ''} in {opts['rules']}")
        against = opts["engine"] or sqlite
        self.stdout.write("rules OK" + (f" for {against}" if against else ""))

    def _dataset_remove(self, opts) -> None:
        datasets.remove_dataset(opts["name"])
        self.stdout.write(f"removed dataset {opts['name']}")

    # --- projects -------------------------------------------------------------------------------

    def _project_add(self, opts) -> None:
        limit = opts["time_limit"]
        if limit is not None and limit <= 0:
            raise CommandError("--time-limit must be more than 0 seconds")
        project = projects.add_project(
            opts["name"], _local_path(opts["repository"]), opts["kind"],
            datasets=opts["datasets"], target=opts["target"], directory=opts["directory"],
            requirements=opts["requirements"], time_limit_seconds=limit,
        )  # fmt: skip
        names = ", ".join(d.name for d in project.datasets.all())
        self.stdout.write(
            f"project {project.name} ({project.kind}, {project.target or 'no target'}) from "
            f"{project.repository}: datasets {names}; at most {project.time_limit_seconds} s "
            "per dataset"
        )

    def _project_list(self, opts) -> None:
        rows = Project.objects.prefetch_related("datasets")
        if not rows:
            self.stdout.write("no projects (add one: manage.py gate project add)")
            return
        self.stdout.write(f"{'name':<24} {'kind':<8} {'last check':<40}  datasets; repository")
        for p in rows:
            last = p.checks.order_by("-created_at").first()
            seen = (
                f"{last.pk} {last.ref[:20]} {last.outcome or last.state} "
                f"{timezone.localtime(last.created_at):%Y-%m-%d %H:%M}"
                if last
                else "never"
            )
            names = ", ".join(d.name for d in p.datasets.all()) or "-"
            self.stdout.write(f"{p.name:<24} {p.kind:<8} {seen:<40}  {names}; {p.repository}")

    # --- checks ---------------------------------------------------------------------------------

    def _check(self, opts) -> None:
        check = checks.submit_check(opts["project"], opts["ref"], refspec=opts["refspec"])
        self._submitted(check, opts)

    def _recheck(self, opts) -> None:
        check = checks.recheck(opts["check"])
        self._submitted(check, opts)

    def _submitted(self, check: Check, opts) -> None:
        n = check.project.datasets.count()
        again = f", a recheck of {check.recheck_of_id}" if check.recheck_of_id else ""
        self.stdout.write(
            f"check {check.pk}: {check.project.name} at {check.ref} on {n} "
            f"dataset{'s' if n != 1 else ''}{again}"
        )
        if not opts["wait"]:
            self.stdout.write(f"queued; follow it with: manage.py gate show {check.pk}")
            return
        self._work(check, opts["no_progress"])

    def _work(self, check: Check, quiet: bool) -> None:
        bar = tqdm(
            total=check.project.datasets.count(), unit="dataset", disable=quiet,
            file=self.stderr._out, desc=f"check {check.pk}",
        )  # fmt: skip
        follower = None if quiet else _Follower(check, bar)
        try:
            if follower is not None:
                follower.start()

            def again(row: Check) -> None:
                self._say(f"attempt {row.attempts} failed: {_first_line(row.error)}; again")

            # Until it has finished: a failed attempt, a busy database or another worker
            # holding the check does not end the command.
            check = jobs.run_in_foreground(JOB, check.pk, on_retry=again, poll_seconds=POLL_SECONDS)
        except KeyboardInterrupt:
            raise CommandError(
                f"interrupted; check {check.pk} is taken up again by a worker once its lease "
                f"expires (manage.py gate show {check.pk})"
            ) from None
        finally:
            if follower is not None:
                follower.stop()
                check.refresh_from_db()
                follower.poll(check)  # the lines written since its last look
            bar.close()
        if check.has_failed:
            raise CommandError(f"check {check.pk} failed: {_first_line(check.error)}")
        if not check.is_finished:
            self.stdout.write(
                f"check {check.pk} is {check.state} on {check.worker or 'a worker'}: "
                f"{check.progress_message}; follow it with: manage.py gate show {check.pk}"
            )
            return
        self.stdout.write(check.summary.rstrip("\n"))
        self.stdout.write(f"log: {check.log_dir / 'job.log'}")
        if check.outcome in FAILING:
            raise CommandError(f"check {check.pk}: {check.outcome}")

    def _show(self, opts) -> None:
        check = checks.get_check(opts["check"])
        again = f", a recheck of {check.recheck_of_id}" if check.recheck_of_id else ""
        commit = f" ({check.commit[:12]})" if check.commit else ""
        self.stdout.write(f"check {check.pk}: {check.project.name} at {check.ref}{commit}{again}")
        self.stdout.write(
            f"state: {check.state}, outcome: {check.outcome or '-'}, "
            f"attempts {check.attempts}/{check.max_attempts}"
        )
        if not check.is_finished and check.progress_message:
            total = f"/{check.progress_total}" if check.progress_total is not None else ""
            self.stdout.write(
                f"progress: {check.progress_done}{total} datasets, {check.progress_message}"
            )
        if check.error:
            self.stdout.write(f"error: {_first_line(check.error)}")
        if check.summary:
            self.stdout.write("")
            self.stdout.write(check.summary.rstrip("\n"))
            self.stdout.write("")
        self.stdout.write(f"log: {check.log_dir / 'job.log'}")
        for record in check.datasets:
            path = check.log_dir / f"{record['dataset']}.log"
            if path.is_file():
                self.stdout.write(f"  {record['dataset']}: {path}")
        if check.results_run:
            self.stdout.write(f"results run: {check.results_run}")
