"""Run a project's pending migrations one at a time through its driver (a process of its own in
the project's environment, protocol.py), timing each and, on PostgreSQL, watching each: what a
gate check does on each dataset.

The driver's output goes to the log line by line as it comes, each migration between a start
line and an end line with its time, so a log shows where a migration began and whether it
ended (turbo-hipster's "did not find the end of a migration after a start"). Before each
migration the driver waits for the gate, which snapshots the database while nothing runs. The
first migration that fails, or the check's time limit, stops the run: the process group is
ended, and on PostgreSQL its sessions too.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from migrations_gate.runner.drivers.protocol import PREFIX
from migrations_gate.runner.watch import Measures, Watch, terminate

__all__ = ["DriverRun", "StepResult", "libpq_env", "run_driver"]

OK, FAILED, TIMEOUT = "ok", "failed", "timeout"
TAIL_LINES = 60


@dataclass
class StepResult:
    migration: str  # as the tool names it ("polls.0003_slow", "V3__index")
    status: str  # ok, failed, timeout
    seconds: float  # the driver's own figure for an ended migration, else the gate's clock
    tail: list[str] = field(default_factory=list)  # its last lines of output
    measures: Measures | None = None  # PostgreSQL only


@dataclass
class DriverRun:
    steps: list[StepResult]
    ended: bool  # the driver said done: every migration it was given ran
    left: int | None  # migrations still not applied after them (0: at the latest)
    exit_code: int | None
    timed_out: bool
    tail: list[str]  # the driver's last lines (setting up, say)

    @property
    def failed(self) -> StepResult | None:
        return next((s for s in self.steps if s.status != OK), None)


# libpq's environment variables, by conninfo keyword (the tools' drivers all read them).
_LIBPQ_ENV = {
    "host": "PGHOST", "port": "PGPORT", "dbname": "PGDATABASE", "user": "PGUSER",
    "password": "PGPASSWORD", "sslmode": "PGSSLMODE", "options": "PGOPTIONS",
}  # fmt: skip


def libpq_env(conninfo: str) -> dict[str, str]:
    """The environment that points a migration tool at ``conninfo``'s database."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(conninfo)
    return {env: str(params[key]) for key, env in _LIBPQ_ENV.items() if params.get(key)}


def run_driver(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str],
    deadline: float,
    conninfo: str | None = None,
    log: Callable[[str], None] = lambda line: None,
    stop_after: int | None = None,
    tick: Callable[[], None] | None = None,
) -> DriverRun:
    """Run the driver ``argv`` until it is done, fails, or ``deadline`` (time.monotonic)
    passes. With a PostgreSQL ``conninfo`` each migration is watched. ``stop_after``: apply
    that many migrations at most (a dataset made at an older version). ``tick`` is called
    about every second while the driver runs (a job extends its lease; what it raises stops
    the driver)."""
    app = f"assay-gate-{uuid.uuid4().hex[:12]}"
    full_env = {**env, "PGAPPNAME": app, "PYTHONUNBUFFERED": "1"}
    session = _Session(argv, full_env, cwd, deadline, conninfo, app, log)
    session.stop_after = stop_after
    session.tick = tick
    return session.run()


class _Session:
    def __init__(
        self, argv: Sequence[str], env: dict[str, str], cwd: str | os.PathLike[str],
        deadline: float, conninfo: str | None, app: str, log: Callable[[str], None],
    ) -> None:  # fmt: skip
        self.argv, self.env, self.cwd, self.deadline = list(argv), env, cwd, deadline
        self.conninfo, self.app, self.log = conninfo, app, log
        self.steps: list[StepResult] = []
        self.tail: list[str] = []
        self.current: StepResult | None = None
        self.started = 0.0
        self.watch: Watch | None = None
        self.ended = False
        self.left: int | None = None
        self.stop_after: int | None = None
        self.tick: Callable[[], None] | None = None

    def run(self) -> DriverRun:
        proc = subprocess.Popen(  # an argv list, never a shell string
            self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # its children are stopped with it
        )  # fmt: skip
        self.proc = proc
        assert proc.stdout is not None and proc.stdin is not None
        os.set_blocking(proc.stdout.fileno(), False)
        timed_out = False
        buffer = b""
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)
                while True:
                    if self.tick is not None:
                        self.tick()
                    left = self.deadline - time.monotonic()
                    if left <= 0:
                        timed_out = True
                        break
                    if not sel.select(timeout=min(left, 1.0)):
                        continue
                    chunk = proc.stdout.read()
                    if not chunk:  # EOF: the driver exited (or closed its output)
                        break
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for raw in lines:
                        self._line(raw.decode("utf-8", "replace").rstrip("\r"))
            if buffer:
                self._line(buffer.decode("utf-8", "replace"))
            if not timed_out:
                try:
                    proc.wait(timeout=max(0.1, self.deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    timed_out = True
        finally:
            if timed_out or proc.poll() is None:
                self._stop()
            self._close_step(TIMEOUT if timed_out else FAILED)
            for stream in (proc.stdin, proc.stdout):
                stream.close()
        if timed_out:
            self.log("=== stopped at the check's time limit")
        return DriverRun(
            steps=self.steps, ended=self.ended, left=self.left,
            exit_code=None if timed_out else proc.returncode, timed_out=timed_out,
            tail=self.tail,
        )  # fmt: skip

    def _line(self, line: str) -> None:
        if not line.startswith(PREFIX):
            self.log(line)
            self.tail.append(line)
            del self.tail[:-TAIL_LINES]
            if self.current is not None:
                self.current.tail.append(line)
                del self.current.tail[:-TAIL_LINES]
            return
        word, _, rest = line[len(PREFIX) :].partition(" ")
        if word == "ready":
            if self.stop_after is not None and len(self.steps) >= self.stop_after:
                self._send("stop")
                return
            if self.conninfo is not None:
                self.watch = Watch(self.conninfo, self.app).__enter__()
            self._send("go")
        elif word == "start":
            self.current = StepResult(rest, OK, 0.0)
            self.started = time.monotonic()
            self.log(f"=== start {rest}")
        elif word == "end" and self.current is not None:
            name, _, seconds = rest.rpartition(" ")
            self.current.seconds = _float(seconds, time.monotonic() - self.started)
            self.log(f"=== end {name} ok in {self.current.seconds:.3f}s")
            self._close_step(OK)
        elif word == "failed" and self.current is not None:
            self.log(f"=== end {rest} FAILED in {time.monotonic() - self.started:.3f}s")
            self._close_step(FAILED)
        elif word == "done":
            self.ended = True
            counts = rest.split()
            self.left = int(counts[1]) if len(counts) == 2 and counts[1].isdigit() else None

    def _send(self, word: str) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(f"{word}\n".encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the driver is gone: its exit says why

    def _close_step(self, status: str) -> None:
        step, watch = self.current, self.watch
        self.current, self.watch = None, None
        if step is not None:
            if status != OK:
                step.status = status
                step.seconds = time.monotonic() - self.started
            self.steps.append(step)
        if watch is not None:
            if status == TIMEOUT and self.conninfo is not None:
                # Its backend may still wait in a lock queue (it would not notice its client
                # gone), and the watch's last snapshot would queue behind it.
                terminate(self.conninfo, self.app)
            watch.__exit__(None, None, None)
            if step is not None:
                step.measures = watch.measures

    def _stop(self) -> None:
        """The driver's whole process group: TERM, then KILL after a few seconds."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=5.0)
                return
            except subprocess.TimeoutExpired:
                continue


def _float(text: str, default: float) -> float:
    try:
        return float(text)
    except ValueError:
        return default
