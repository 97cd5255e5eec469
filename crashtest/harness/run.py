"""One crash test from start to end: a throwaway site on a database it creates (its own SQLite
file, or its own PostgreSQL server and database), N qcluster workers, a web server, the
workloads, the nemeses, a sanity loop and a progress watchdog; then heal, drain and check.

Phases: setup -> chaos (nemeses on) -> heal (every worker thawed and back) -> drain (the work
accepted finishes) -> check. The watchdog pauses the world when no job finishes for
`watchdog_seconds` while work is outstanding: every process of the site is frozen (SIGSTOP),
the state written to paused-state.json beside the logs, and the run fails.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from crashtest.harness.accounting import Check, failed
from crashtest.harness.api import Api
from crashtest.harness.cluster import Timeline, Workers
from crashtest.harness.datagen_load import DatagenWorkload, crash_spec, read_ledger
from crashtest.harness.nemesis import (
    NEMESES,
    POSTGRESQL_ONLY,
    Cadence,
    Nemesis,
    Stabilizer,
    grow_or_shrink,
    kill_and_restart,
    pause_and_resume,
)
from crashtest.harness.querygen_load import QuerygenWorkload, findings_of, run_body
from crashtest.harness.site import ThrowawaySite, free_port

WORKLOADS = ("datagen", "imports", "querygen")
BROKERS = ("orm", "redis")
DATABASES = ("sqlite", "postgresql")
TARGET_ENGINE = "crash-target"
REFERENCE_ENGINE = "crash-reference"

SETUP = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from core.models import Engine
user = User.objects.create_user("crashtest")
user.groups.add(Group.objects.get(name="CI"))
print("TOKEN", Token.objects.create(user=user).key)
Engine.objects.create(name={target_engine!r}, kind="sqlite", path={target!r})
Engine.objects.create(name={reference_engine!r}, kind="sqlite", path={reference!r})
# querygen's runs generate databases of their own in memory: the files are never written.
Engine.objects.create(name="crash-duckdb", kind="duckdb", path={duckdb!r})
Engine.objects.create(name="crash-sqlite", kind="sqlite", path={sqlite!r})
"""


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class CrashTestError(Exception):
    """The crash test could not run (bad options, a site that would not start): one line."""


@dataclass
class Options:
    workers: int = 3
    minutes: float = 1.0
    nemeses: list[str] = field(default_factory=lambda: ["kill", "pause", "grow-shrink"])
    workloads: list[str] = field(default_factory=lambda: list(WORKLOADS))
    seed: int = 1
    broker: str = "orm"
    database: str = "sqlite"
    lease_seconds: int = 5
    watchdog_seconds: float = 60.0
    drain_seconds: float = 180.0
    chunks: int = 24
    rows_per_chunk: int = 4000
    import_clients: int = 2
    querygen_queries: int = 300
    kill_every: tuple[float, float] = (0.2, 0.9)

    def problems(self) -> list[str]:
        said = []
        if not 1 <= self.workers <= 16:
            said.append("--workers: from 1 to 16")
        if not 0 < self.minutes <= 24 * 60:
            said.append("--minutes: more than 0, at most a day")
        for name in self.nemeses:
            if name not in NEMESES:
                said.append(f"--nemesis {name}: one of {', '.join(NEMESES)}")
            elif name in POSTGRESQL_ONLY and self.database != "postgresql":
                said.append(f"--nemesis {name} needs --database postgresql")
        for name in self.workloads:
            if name not in WORKLOADS:
                said.append(f"--workload {name}: one of {', '.join(WORKLOADS)}")
        if not self.workloads:
            said.append("--workload: at least one")
        if self.broker not in BROKERS:
            said.append(f"--broker: one of {', '.join(BROKERS)}")
        if self.database not in DATABASES:
            said.append(f"--database: one of {', '.join(DATABASES)}")
        if self.lease_seconds < 5:
            said.append("--lease: at least 5 seconds")
        return said


class CrashTest:
    def __init__(self, options: Options, folder: Path, emit: Callable[[str], None]) -> None:
        if problems := options.problems():
            raise CrashTestError("; ".join(problems))
        if folder.exists() and any(folder.iterdir()):
            raise CrashTestError(f"{folder} is not empty: a crash test makes its own site")
        self.options = options
        self.folder = folder
        self.emit = emit
        self.timeline = Timeline(emit)
        self.stop_chaos = threading.Event()
        self.stopped_by = "time"
        self.errors: list[str] = []
        self.servers: list = []  # the Redis and PostgreSQL servers it started
        self.pg = None
        self.site: ThrowawaySite | None = None
        self.workers: Workers | None = None
        self.workloads: list = []
        self.web_port = free_port()
        self.db_down = threading.Event()
        self.shared = threading.Lock()
        self.nemesis_threads: list[threading.Thread] = []
        self.world_paused = threading.Event()
        self._all_done = threading.Event()
        self.checks: list[Check] = []
        self.started_at = datetime.now(UTC)

    # --- the whole run ----------------------------------------------------------------------

    def run(self) -> dict:
        try:
            self.timeline.phase("setup")
            self._set_up()
            self.timeline.phase("chaos")
            self._chaos()
            # After a pause of the world nothing goes on: the state is kept as it was.
            for phase, step in (("heal", self._heal), ("drain", self._drain)):
                if not self.world_paused.is_set():
                    self.timeline.phase(phase)
                    step()
            if not self.world_paused.is_set():
                self.timeline.phase("check")
                self._check()
        except KeyboardInterrupt:
            self.stopped_by = "interrupted"
            self.errors.append("interrupted")
        except CrashTestError:
            raise
        except Exception as exc:
            if self.stopped_by == "time":  # a watchdog's verdict stays the verdict
                self.stopped_by = "error"
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.timeline.close()
            # A second Ctrl-C must not leave processes behind halfway through the tear-down.
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
            try:
                self._tear_down()
            finally:
                if previous is not None:
                    signal.signal(signal.SIGINT, previous)
        return self.report()

    def _set_up(self) -> None:
        o = self.options
        self.folder.mkdir(parents=True, exist_ok=True)
        env = {"ASSAY_JOB_LEASE_SECONDS": str(o.lease_seconds)}
        if o.broker == "redis":
            from crashtest.harness.redis_server import RedisServer

            redis = RedisServer(self.folder / "redis")
            self.servers.append(redis)  # before start(): a start that fails is cleaned up too
            redis.start()
            env["ASSAY_Q_REDIS_URL"] = redis.url
        if o.database == "postgresql":
            from crashtest.harness.postgres_server import PostgresServer

            self.pg = PostgresServer()
            self.servers.append(self.pg)
            self.pg.start()
            env["DATABASE_URL"] = self.pg.create_database("assay_crash")
        deadline = time.monotonic() + 180
        self.site = site = ThrowawaySite(self.folder / "site", workers=1, extra_env=env)
        site.migrate()
        target, reference = self.folder / "target.sqlite3", self.folder / "reference.sqlite3"
        printed = site.manage(
            "shell",
            "-c",
            SETUP.format(
                target_engine=TARGET_ENGINE,
                target=str(target),
                reference_engine=REFERENCE_ENGINE,
                reference=str(reference),
                duckdb=str(self.folder / "querygen.duckdb"),
                sqlite=str(self.folder / "querygen.sqlite3"),
            ),
        )
        token = next(line.split()[1] for line in printed.splitlines() if line.startswith("TOKEN"))
        url = site.start_web("web", self.web_port, deadline)
        api = Api(url, token)
        self.workers = Workers(site, self.timeline, o.workers)
        self.workers.start_all(deadline)
        if "datagen" in o.workloads:
            self.workloads.append(self._datagen(site, api, target, reference))
        if "querygen" in o.workloads:
            self.workloads.append(self._querygen(site, api, deadline))
        if "imports" in o.workloads:
            from crashtest.harness.imports import ImportsWorkload

            self.workloads.append(
                ImportsWorkload(
                    url, token, clients=o.import_clients, seed=o.seed, on_done=self._done
                )
            )

    def _datagen(
        self, site: ThrowawaySite, api: Api, target: Path, reference: Path
    ) -> DatagenWorkload:
        """The crash-free run first: the same spec and seed, in the foreground, no cluster."""
        o = self.options
        spec = crash_spec(o.chunks, o.rows_per_chunk)
        spec_file = self.folder / "crash-spec.json"
        spec_file.write_text(json.dumps(spec, indent=1))
        site.manage(
            "datagen", "run", str(spec_file), "--seed", str(o.seed),
            "--load", REFERENCE_ENGINE, "--no-progress",
        )  # fmt: skip
        ledger = {
            chunk: (rows, checksum) for _, chunk, rows, checksum in read_ledger(reference, "crash")
        }
        if sorted(ledger) != list(range(o.chunks)):
            raise CrashTestError(f"the crash-free run loaded chunks {sorted(ledger)}")
        return DatagenWorkload(
            api,
            spec=spec,
            seed=o.seed,
            engine=TARGET_ENGINE,
            target=target,
            reference=ledger,
            on_done=self._done,
        )

    def _querygen(self, site: ThrowawaySite, api: Api, deadline: float) -> QuerygenWorkload:
        """The uninterrupted run first: the same budget and seed, in the foreground."""
        o = self.options
        label = f"crash-querygen-{o.seed}-reference"
        body = run_body(
            label, sut="crash-duckdb", reference="crash-sqlite", queries=o.querygen_queries,
            seed=o.seed,
        )  # fmt: skip
        site.manage(
            "querygen", "run", "--sut", body["sut"], "--reference", body["reference"],
            "--queries", str(body["budget_queries"]), "--seed", str(o.seed),
            "--timeout", str(body["timeout"]), "--max-reductions", str(body["max_reductions"]),
            "--label", label, "--no-progress",
        )  # fmt: skip
        runs = [r for r in api.get_all(QuerygenWorkload.path, deadline) if r["label"] == label]
        if len(runs) != 1 or runs[0]["queries"] != o.querygen_queries:
            raise CrashTestError(f"the uninterrupted querygen run did not finish: {runs}")
        return QuerygenWorkload(
            api,
            sut=body["sut"],
            reference=body["reference"],
            queries=o.querygen_queries,
            seed=o.seed,
            expected=findings_of(api, runs[0]["id"], deadline),
            on_done=self._done,
        )

    def _done(self, workload: str, count: int = 1) -> None:
        self.timeline.completed(workload, count)

    def _ready(self) -> bool:
        """The stabilize switch's question: can the cluster work? (The web server being down
        stops no worker: it holds only the other disruptions of shared parts.)"""
        return (
            not self.db_down.is_set()
            and not self.world_paused.is_set()
            and bool(self.workers and self.workers.ready())
        )

    def _chaos(self) -> None:
        o = self.options
        stabilizer = Stabilizer(self._ready)
        self.stabilizer = stabilizer
        threads: list[threading.Thread] = []
        self.timeline.completed("start", 0)  # the watchdog counts from here
        for workload in self.workloads:
            workload.start()
        # `kill` is two loops, as master-crasher's subshells: the workers, and the web server
        # (its restart takes seconds, which the workers' loop does not wait for).
        loops = [n for m in o.nemeses for n in ([m, "kill-web"] if m == "kill" else [m])]
        for name in loops:
            act, cadence, mark = self._nemesis(name)
            threads.append(
                Nemesis(
                    name,
                    act,
                    cadence,
                    seed=o.seed,
                    timeline=self.timeline,
                    stabilizer=stabilizer,
                    stop=self.stop_chaos,
                    mark=mark,
                    errors=self.errors,
                )  # fmt: skip
            )
        self.nemesis_threads = list(threads)
        threads.append(threading.Thread(target=self._watch, name="watchdog", daemon=True))
        for thread in threads:
            thread.start()
        end = time.monotonic() + o.minutes * 60
        while time.monotonic() < end and not self.world_paused.is_set():
            time.sleep(0.2)
        stabilizer.hold()
        self.stop_chaos.set()
        for thread in threads:
            if thread.name != "watchdog":
                thread.join(timeout=60)
        for workload in self.workloads:
            workload.stop()

    def _nemesis(self, name: str) -> tuple[Callable, Cadence, str]:
        o = self.options
        if name == "kill":
            act = kill_and_restart(self.workers, self.timeline, self.stop_chaos)
            return act, Cadence(*o.kill_every), "c"
        if name == "kill-web":
            return self._kill_web, Cadence(2.0, 6.0), "cW"
        if name == "pause":
            act = pause_and_resume(self.workers, self.timeline, self.stop_chaos, o.lease_seconds)
            return act, Cadence(2.0, 6.0), "p"
        if name == "grow-shrink":
            return grow_or_shrink(self.workers, self.timeline, o.workers + 2), Cadence(4, 10), "g"
        if name == "restart-db":
            return self._restart_db, Cadence(8.0, 20.0), "D"
        return self._terminate_backends, Cadence(3.0, 8.0), "t"

    @contextlib.contextmanager
    def _shared_part(
        self, nemesis: str, mark: str, down: threading.Event | None = None
    ) -> Iterator[bool]:
        """One disruption of a shared part (the web server, the database) at a time: a turn
        that finds another one going on is skipped. `down` is set meanwhile (the database:
        the cluster is not ready)."""
        if not self.shared.acquire(blocking=False):
            self.timeline.event(nemesis, "skip", detail="another part is down", mark=f":{mark}")
            yield False
            return
        if down is not None:
            down.set()
        try:
            yield True
        finally:
            if down is not None:
                down.clear()
            self.shared.release()

    def _kill_web(self, rng) -> None:
        with self._shared_part("kill-web", "cW") as mine:
            if not mine:
                return
            self.site.kill("web")
            self.timeline.event("kill-web", "kill", "web", "SIGKILL", mark="cW")
            self.stop_chaos.wait(rng.uniform(0.1, 1.0))
            self.site.start_web("web", self.web_port, time.monotonic() + 60)
            self.timeline.event("kill-web", "restart", "web", mark="rW")

    def _restart_db(self, rng) -> None:
        with self._shared_part("restart-db", "D", self.db_down) as mine:
            if not mine:
                return
            self.timeline.event("restart-db", "restart-db", "postgresql", "-m immediate", "cD")
            self.pg.restart(immediate=True)
            self.timeline.event("restart-db", "restarted", "postgresql", mark="rD")

    def _terminate_backends(self, rng) -> None:
        with self._shared_part("terminate-backends", "t", self.db_down) as mine:
            if not mine:
                return
            count = self.pg.terminate_backends("assay_crash")
            self.timeline.event(
                "terminate-backends", "terminate-backends", "postgresql", f"{count} connections",
                mark=f"t{count}",
            )  # fmt: skip

    def _watch(self) -> None:
        """The progress watchdog and the sanity loop, master-crasher's `{AP}` and `,`."""
        try:
            self._watch_loop()
        except Exception as exc:  # a watchdog that dies must say so: the run fails
            self.errors.append(f"watchdog: {type(exc).__name__}: {exc}")

    def _watch_loop(self) -> None:
        turn = 0
        while not self.world_paused.is_set() and not self._all_done.is_set():
            time.sleep(1.0)
            turn += 1
            if turn % 2 == 0:
                self.timeline.mark(",")
                for workload in self.workloads:
                    try:
                        problems = getattr(workload, "sanity", list)()
                    except Exception as exc:  # a target busy with loads: look next round
                        self.timeline.event("sanity", "skip", workload.name, str(exc)[:200])
                        continue
                    for problem in problems:
                        self._pause_the_world(f"sanity: {workload.name}: {problem}")
                        return
            outstanding = sum(getattr(w, "outstanding", lambda: 1)() for w in self.workloads)
            quiet = self.timeline.seconds_since_completion()
            if outstanding and quiet > self.options.watchdog_seconds:
                self._pause_the_world(f"no job finished for {quiet:.0f} s")
                return

    def _pause_the_world(self, why: str) -> None:
        """Freeze every process of the site as it is, write the state beside the logs."""
        self.world_paused.set()
        self.stop_chaos.set()  # no nemesis turn after this (one going on ends at its next step)
        self.stopped_by = "watchdog"
        self.errors.append(f"paused the world: {why}")
        self.workers.freeze_all()
        self.site.pause(True, "web")
        self.timeline.event("watchdog", "pause-the-world", detail=why, mark="{PAUSE}")
        state = {
            "why": why,
            "t": self.timeline.now(),
            "workers": self.workers.report(),
            "workloads": {w.name: w.state() for w in self.workloads},
            "events": self.timeline.events[-50:],
        }
        (self.folder / "paused-state.json").write_text(json.dumps(state, indent=1, default=str))

    def _heal(self) -> None:
        self.workers.heal(time.monotonic() + 120)
        self.timeline.event("heal", "heal", detail="every worker thawed and running")

    def _drain(self) -> None:
        deadline = time.monotonic() + self.options.drain_seconds
        for workload in self.workloads:
            getattr(workload, "adopt", lambda _: None)(deadline)
        while any(getattr(w, "outstanding", lambda: 0)() for w in self.workloads):
            if self.world_paused.is_set():
                return
            if time.monotonic() > deadline:
                self.errors.append(
                    f"drain: work still outstanding after {self.options.drain_seconds:.0f} s"
                )
                break
            time.sleep(0.3)
        self._all_done.set()

    def _check(self) -> None:
        deadline = time.monotonic() + 120
        for workload in self.workloads:
            getattr(workload, "halt", lambda: None)()
            self.checks.extend(workload.check(deadline))
        kills = self.timeline.count("kill")
        self.checks.append(Check("nemesis", "kills", kills, fails_run=False))

    def _tear_down(self) -> None:
        self._all_done.set()
        self.stop_chaos.set()
        for thread in self.nemesis_threads:
            thread.join(timeout=60)  # a restart going on ends before the processes are killed
        if self.workers is not None:
            self.workers.close()
        if self.site is not None:
            self.site.kill_all()  # before joining clients that may wait on a frozen server
        for workload in self.workloads:
            for stop in ("stop", "halt"):
                try:
                    getattr(workload, stop, lambda: None)()
                except Exception as exc:
                    self.errors.append(f"{workload.name}.{stop}: {exc}")
        if self.site is not None:
            self.site.kill_all()
        for server in reversed(self.servers):
            for stop in ("cleanup", "stop"):
                if hasattr(server, stop):
                    try:
                        getattr(server, stop)()
                    except Exception as exc:
                        self.errors.append(f"stopping {type(server).__name__}: {exc}")
                    break

    # --- the report ---------------------------------------------------------------------------

    def report(self) -> dict:
        checks = [c.as_dict() for c in self.checks]
        ok = (
            self.stopped_by == "time"
            and not failed(self.checks)
            and not self.errors
            and bool(self.checks)
        )
        counts = {
            "kills": self.timeline.count("kill"),
            "restarts": self.timeline.count("restart"),
            "pauses": self.timeline.count("pause"),
            "grows": self.timeline.count("grow"),
            "shrinks": self.timeline.count("shrink"),
            "db_restarts": self.timeline.count("restart-db"),
            "terminations": self.timeline.count("terminate-backends"),
            "skips": self.timeline.count("skip"),
        }
        report = {
            "version": 1,
            "options": {**asdict(self.options), "kill_every": list(self.options.kill_every)},
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "duration": self.timeline.now(),
            "phases": self.timeline.phases,
            "stopped_by": self.stopped_by,
            "ok": ok,
            "errors": self.errors,
            "progress": "".join(self.timeline.progress),
            "events": self.timeline.events,
            "completions": self.timeline.completions,
            "workers": self.workers.report() if self.workers else [],
            "workloads": {w.name: w.state() for w in self.workloads},
            "checks": checks,
            "counts": counts,
            "folder": str(self.folder),
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "report.json").write_text(json.dumps(report, indent=1, default=str))
        return report
