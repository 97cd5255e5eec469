"""manage.py querygen run|work|groups|replay|pairs|start"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from core import jobs
from core.exceptions import AssayError
from querygen.engine.profile import DATA_MODES
from querygen.models import Finding, Group, GroupStatus, OracleKind, Pair, QuerygenRun
from querygen.services import runs
from querygen.services.demo import ensure_demo_pair

POLL_SECONDS = 1.0
JOB = "querygen.QuerygenRun"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def read_profile(path: str) -> dict[str, Any]:
    """A query profile from a .json or .yaml/.yml file (its keys are checked by the service)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read the profile {path}: {exc}") from None
    try:
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        msg = _first_line(str(exc))
        raise CommandError(f"The profile {path} is not valid JSON or YAML: {msg}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CommandError(f"The profile {path} is not a mapping of settings.")
    return data


class _Follower(threading.Thread):
    """Reads the run's checkpointed progress on a connection of its own while the job runs in
    the main thread (a read that fails, the row being locked say, is skipped)."""

    def __init__(self, pk: int, update) -> None:
        super().__init__(name=f"querygen-follow-{pk}", daemon=True)
        self.pk, self.update = pk, update
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(POLL_SECONDS):
                try:
                    row = QuerygenRun.objects.filter(pk=self.pk).first()
                except DatabaseError:
                    continue
                if row is not None:
                    self.update(row)
        finally:
            connections.close_all()  # this thread's connections only

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def _profile(opts: dict[str, Any]) -> dict[str, Any]:
    profile = read_profile(opts["profile"]) if opts["profile"] else {}
    if opts["data"]:
        profile["data"] = opts["data"]
    return profile


class Command(BaseCommand):
    help = "Random query testing: run, work, groups, replay, pairs, start."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))

        run = sub.add_parser("run", help="Submit a run and execute it in this process")
        run.add_argument("--sut", required=True, metavar="NAME", help="System under test")
        run.add_argument("--reference", default=None, metavar="NAME", help="Reference engine")
        run.add_argument(
            "--oracle", default=OracleKind.DIFFERENTIAL, choices=OracleKind.values,
            help="differential needs --reference; tlp and norec test one engine",
        )  # fmt: skip
        run.add_argument("--queries", type=int, default=None, metavar="N", help="Query budget")
        run.add_argument(
            "--minutes", type=float, default=None, metavar="M", help="Time budget (fractions ok)"
        )
        run.add_argument("--seed", type=int, default=None, help="Default: random (stored)")
        run.add_argument("--timeout", type=float, default=2.0, help="Seconds per query, engine")
        run.add_argument("--max-rows", type=int, default=10_000)
        run.add_argument("--max-reductions", type=int, default=runs.DEFAULT_MAX_REDUCTIONS)
        run.add_argument("--python", default="", metavar="PATH", help="A private build's python")
        run.add_argument(
            "--ladder", default="", metavar="PATH[,PATH...]",
            help="Interpreters of the releases between the SUT and the reference, oldest "
            "first: each finding is bisected over them (see manage.py querygen_release)",
        )  # fmt: skip
        run.add_argument("--profile", default=None, metavar="FILE", help="Profile .json/.yaml")
        run.add_argument(
            "--data", choices=DATA_MODES, default=None,
            help="generated (default): databases of querygen's own, in memory (PostgreSQL: in "
            "a schema of the run's own); dataset: the engines' own tables (sets the profile's "
            "'data')",
        )  # fmt: skip
        run.add_argument("--label", default="")
        run.add_argument("--detach", action="store_true", help="Submit, print the id, return")
        run.add_argument("--no-progress", action="store_true")

        work = sub.add_parser("work", help="Execute a queued run in this process")
        work.add_argument("run", type=int)
        work.add_argument("--no-progress", action="store_true")

        grp = sub.add_parser("groups", help="The groups (bugs), most recently seen first")
        grp.add_argument("--status", choices=GroupStatus.values, default=None)
        grp.add_argument("--scope", default=None, help="e.g. 'differential a vs b'")
        grp.add_argument("--limit", type=int, default=50)

        replay = sub.add_parser("replay", help="Check a finding's query again")
        replay.add_argument("finding", type=int, metavar="FINDING_ID")
        replay.add_argument("--original", action="store_true", help="Not the reduced query")

        sub.add_parser("pairs", help="The pairs tested on a schedule")

        start = sub.add_parser("start", help="Submit a run of a pair now")
        start.add_argument("pair", metavar="PAIR", help="The pair's name")

        sub.add_parser(
            "demo", help="The demo pair: DuckDB vs SQLite on datagen's demo dataset (make run)"
        )

    def handle(self, *args, **opts):
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except AssayError as exc:
            raise CommandError(exc.detail) from None

    # --- run, work ------------------------------------------------------------------------------

    def _run(self, opts) -> None:
        minutes = opts["minutes"]
        if minutes is not None and minutes <= 0:
            raise CommandError("--minutes must be more than 0")
        run = runs.submit_run(
            sut=opts["sut"],
            reference=opts["reference"],
            oracle=opts["oracle"],
            sut_python=opts["python"],
            ladder=[p.strip() for p in opts["ladder"].split(",") if p.strip()],
            profile=_profile(opts),
            budget_queries=opts["queries"],
            budget_seconds=None if minutes is None else max(1, round(minutes * 60)),
            timeout=opts["timeout"],
            max_rows=opts["max_rows"],
            seed=opts["seed"],
            max_reductions=opts["max_reductions"],
            label=opts["label"],
        )
        self.stdout.write(f"run {run.pk}: {run.scope}, seed {run.seed}, {self._budget(run)}")
        if opts["detach"]:
            self.stdout.write(f"queued; execute it here with: manage.py querygen work {run.pk}")
            return
        self._execute(run, opts["no_progress"])

    def _work(self, opts) -> None:
        run = QuerygenRun.objects.filter(pk=opts["run"]).first()
        if run is None:
            raise CommandError(f"There is no querygen run {opts['run']}.")
        if run.is_finished:
            self.stdout.write(run.report or f"run {run.pk} {run.state}")
            return
        self._execute(run, opts["no_progress"])

    @staticmethod
    def _budget(run: QuerygenRun) -> str:
        parts = []
        if run.budget_queries is not None:
            parts.append(f"{run.budget_queries} queries")
        if run.budget_seconds is not None:
            parts.append(f"{run.budget_seconds} s")
        return "budget " + " or ".join(parts)

    def _execute(self, run: QuerygenRun, quiet: bool) -> None:
        bar = tqdm(
            total=run.budget_queries, unit="query", disable=quiet, file=self.stderr._out,
            desc=f"run {run.pk}",
        )  # fmt: skip
        lock = threading.Lock()

        def update(row: QuerygenRun) -> None:
            with lock:
                bar.n = row.progress_done
                bar.set_postfix_str(row.progress_message, refresh=False)
                bar.refresh()

        follower = None if quiet else _Follower(run.pk, update)
        try:
            if follower is not None:
                follower.start()

            def again(row: QuerygenRun) -> None:
                bar.write(f"attempt {row.attempts} failed: {_first_line(row.error)}; again")

            # Until it has finished: a failed attempt, a busy database or another worker
            # holding the run does not end the command.
            run = jobs.run_in_foreground(JOB, run.pk, on_retry=again, poll_seconds=POLL_SECONDS)
        except KeyboardInterrupt:
            raise CommandError(
                f"interrupted; run {run.pk} goes on from its last checkpoint when a worker "
                f"picks it up again (or: manage.py querygen work {run.pk})"
            ) from None
        finally:
            if follower is not None:
                follower.stop()
            run.refresh_from_db()
            update(run)
            bar.close()
        if run.has_failed:
            raise CommandError(f"run {run.pk} failed: {_first_line(run.error)}")
        if not run.is_finished:
            self.stdout.write(
                f"run {run.pk} is {run.state} on {run.worker or 'a worker'}: {run.progress_message}"
            )
            return
        self.stdout.write(run.report)
        if run.results_run:
            self.stdout.write(f"results run: {run.results_run}")

    # --- groups, replay -------------------------------------------------------------------------

    def _groups(self, opts) -> None:
        rows = Group.objects.annotate(sample=Max("samples__pk")).order_by("-last_seen", "-pk")
        if opts["status"]:
            rows = rows.filter(status=opts["status"])
        if opts["scope"]:
            rows = rows.filter(scope=opts["scope"])
        total = rows.count()
        if not total:
            self.stdout.write(
                "no groups" + (f" with status {opts['status']}" if opts["status"] else "")
            )
            return
        self.stdout.write(
            f"{'id':>5}  {'signature':<16} {'status':<8} {'count':>6} {'sample':>7}  title"
        )
        for g in rows[: max(1, opts["limit"])]:
            self.stdout.write(
                f"{g.pk:>5}  {g.signature[:16]:<16} {g.status:<8} {g.count:>6} "
                f"{g.sample or '-':>7}  {g.title[:100]}"
            )
        if total > opts["limit"]:
            self.stdout.write(f"... {total - opts['limit']} more (--limit)")

    def _replay(self, opts) -> None:
        finding = Finding.objects.select_related("run").filter(pk=opts["finding"]).first()
        if finding is None:
            raise CommandError(f"There is no finding {opts['finding']}.")
        r = runs.replay_finding(finding, "original" if opts["original"] else "reduced")
        verdict = "reproduced" if r.reproduced else f"NOT reproduced (recorded {finding.kind})"
        self.stdout.write(
            f"finding {finding.pk} ({finding.kind}, seed {finding.seed}, query {finding.index}): "
            f"{r.which} query replayed in {r.seconds:.2f} s: {r.kind}, {verdict}"
        )
        if r.detail:
            self.stdout.write(f"  {_first_line(r.detail)}")
        for side, sql in r.sql.items():
            self.stdout.write(f"  {side}: {sql}")

    # --- pairs ----------------------------------------------------------------------------------

    def _pairs(self, opts) -> None:
        pairs = Pair.objects.select_related("sut", "reference")
        if not pairs.exists():
            self.stdout.write("no pairs (add one in the admin)")
            return
        self.stdout.write(f"{'name':<24} {'every':>7} {'on':<3} {'last started':<16}  scope")
        for pair in pairs:
            started = (
                timezone.localtime(pair.last_started_at).strftime("%Y-%m-%d %H:%M")
                if pair.last_started_at
                else "never"
            )
            self.stdout.write(
                f"{pair.name:<24} {pair.every_minutes:>5} m {'yes' if pair.enabled else 'no':<3} "
                f"{started:<16}  {pair.scope}"
            )

    def _start(self, opts) -> None:
        pair = Pair.objects.filter(name=opts["pair"]).first()
        if pair is None:
            names = ", ".join(Pair.objects.values_list("name", flat=True)[:20]) or "none"
            raise CommandError(f"There is no pair named {opts['pair']!r}; pairs: {names}.")
        run = runs.submit_pair(pair)
        self.stdout.write(
            f"run {run.pk} of {pair.name} queued ({run.scope}, seed {run.seed}); "
            f"execute it here with: manage.py querygen work {run.pk}"
        )

    def _demo(self, opts) -> None:
        pair = ensure_demo_pair()
        if pair is None:
            raise CommandError("No demo engines: run `manage.py datagen demo` first.")
        self.stdout.write(
            f"pair {pair.name}: {pair.scope}, a run every {pair.every_minutes} min "
            "(started by the django-q cluster)"
        )
