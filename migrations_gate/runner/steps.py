"""Run migrations one at a time, each in a process of its own, timed and (on PostgreSQL)
watched: what a gate check does on each dataset.

A step is one migration's command line (the migration tool's, run in the project's
environment). Its output goes to the log line by line as it comes, between a start line and an
end line with its time, so a log shows where a migration began and whether it ended
(turbo-hipster's "did not find the end of a migration after a start"). The first step that
fails or passes the time limit stops the run: later migrations would run on a schema the
change did not expect.
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

from migrations_gate.runner.watch import Measures, Watch, terminate

__all__ = ["Step", "StepResult", "libpq_env", "run_steps"]

OK, FAILED, TIMEOUT = "ok", "failed", "timeout"
TAIL_LINES = 40


@dataclass(frozen=True)
class Step:
    migration: str  # its name, as the tool says it ("polls.0003_slow", "V3__index")
    argv: Sequence[str]


@dataclass
class StepResult:
    migration: str
    status: str  # ok, failed, timeout
    seconds: float
    exit_code: int | None
    tail: list[str] = field(default_factory=list)  # the last lines of its output
    measures: Measures | None = None  # PostgreSQL only


def run_steps(
    steps: Sequence[Step],
    *,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str],
    deadline: float,
    conninfo: str | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> list[StepResult]:
    """Run ``steps`` in order until one fails or ``deadline`` (time.monotonic) passes. With a
    PostgreSQL ``conninfo`` each step is watched (locks, rewrites, WAL, size)."""
    app = f"assay-gate-{uuid.uuid4().hex[:12]}"
    results: list[StepResult] = []
    for step in steps:
        log(f"=== start {step.migration}")
        if conninfo is not None:
            with Watch(conninfo, app) as watch:
                result = _run_one(step, {**env, "PGAPPNAME": app}, cwd, deadline, log)
                if result.status == TIMEOUT:
                    # Its backend may still wait in a lock queue (it would not notice its client
                    # gone), and the watch's last snapshot would queue behind it.
                    terminate(conninfo, app)
            result.measures = watch.measures
        else:
            result = _run_one(step, dict(env), cwd, deadline, log)
        results.append(result)
        if result.status == OK:
            log(f"=== end {step.migration} ok in {result.seconds:.3f}s")
        elif result.status == TIMEOUT:
            log(f"=== {step.migration} did not end: stopped at the check's time limit")
            break
        else:
            code, seconds = result.exit_code, result.seconds
            log(f"=== end {step.migration} FAILED (exit {code}) in {seconds:.3f}s")
            break
    return results


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


def _run_one(
    step: Step, env: dict[str, str], cwd: str | os.PathLike[str], deadline: float,
    log: Callable[[str], None],
) -> StepResult:  # fmt: skip
    started = time.monotonic()
    tail: list[str] = []
    proc = subprocess.Popen(  # an argv list, never a shell string
        list(step.argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its children are stopped with it
    )
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    buffer = b""
    timed_out = False
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if not sel.select(timeout=min(left, 1.0)):
                if proc.poll() is not None:
                    break
                continue
            chunk = proc.stdout.read()
            if not chunk:  # EOF: the process closed its output
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                _line(raw, tail, log)
    if timed_out:
        _stop(proc)
    else:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            _stop(proc)
    if buffer:
        _line(buffer, tail, log)
    proc.stdout.close()
    seconds = time.monotonic() - started
    if timed_out:
        return StepResult(step.migration, TIMEOUT, seconds, None, tail)
    status = OK if proc.returncode == 0 else FAILED
    return StepResult(step.migration, status, seconds, proc.returncode, tail)


def _line(raw: bytes, tail: list[str], log: Callable[[str], None]) -> None:
    line = raw.decode("utf-8", "replace").rstrip("\r")
    log(line)
    tail.append(line)
    del tail[:-TAIL_LINES]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Its whole process group: TERM, then KILL after a few seconds."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
