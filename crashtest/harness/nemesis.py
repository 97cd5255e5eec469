"""The nemeses: master-crasher's sleep-crash-restart subshells as threads, each at its own
random cadence from its own seeded generator, all held while the cluster is not ready (the
stabilize switch). Each action is recorded on the timeline with its progress mark.

| nemesis | does | marks |
| --- | --- | --- |
| kill | SIGKILL a worker, sleep, restart it; in a loop of its own: the web server | cN rN, cW rW |
| pause | SIGSTOP a worker for longer than a lease, then SIGCONT | pN uN |
| grow-shrink | start a new worker, or stop one with SIGTERM (never the last) | +N -N |
| restart-db | restart the PostgreSQL server, crash-like (pg_ctl -m immediate) | cD rD |
| terminate-backends | pg_terminate_backend every connection of the site's database | tN |

A skipped turn (the cluster was not ready) is `:` and the nemesis's mark, e.g. `:c`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from crashtest.harness.cluster import Timeline, Workers

NEMESES = ("kill", "pause", "grow-shrink", "restart-db", "terminate-backends")
POSTGRESQL_ONLY = ("restart-db", "terminate-backends")


@dataclass
class Cadence:
    """Seconds between two turns: uniform in [low, high]."""

    low: float
    high: float


class Stabilizer:
    """The stabilize switch: nemeses skip their turn while `ready()` is false (no worker is
    ready, the web server or the database is being restarted), or while the switch is held
    (heal, drain)."""

    def __init__(self, ready: Callable[[], bool]) -> None:
        self._ready = ready
        self._held = threading.Event()
        self.busy = threading.Lock()  # one disruption of shared parts (web, database) at a time

    def hold(self) -> None:
        self._held.set()

    def holding(self) -> bool:
        return self._held.is_set() or not self._ready()


class Nemesis(threading.Thread):
    def __init__(
        self,
        name: str,
        act: Callable[[random.Random], None],
        cadence: Cadence,
        *,
        seed: int,
        timeline: Timeline,
        stabilizer: Stabilizer,
        stop: threading.Event,
        mark: str,
        errors: list[str],
    ) -> None:
        super().__init__(name=f"nemesis-{name}", daemon=True)
        self.nemesis = name
        self.act = act
        self.cadence = cadence
        self.rng = random.Random(f"{seed}:{name}")  # each loop its own stream, from one seed
        self.timeline = timeline
        self.stabilizer = stabilizer
        self.stop_event = stop
        self.skip_mark = f":{mark}"
        self.errors = errors

    def run(self) -> None:
        while not self.stop_event.wait(self.rng.uniform(self.cadence.low, self.cadence.high)):
            if self.stabilizer.holding():
                self.timeline.event(self.nemesis, "skip", detail="stabilizing", mark=self.skip_mark)
                continue
            try:
                self.act(self.rng)
            except Exception as exc:  # the nemesis itself failed: report it, stop this loop
                self.errors.append(f"nemesis {self.nemesis}: {type(exc).__name__}: {exc}")
                self.timeline.event(self.nemesis, "error", detail=str(exc)[:300], mark="!")
                return


def kill_and_restart(
    workers: Workers, timeline: Timeline, stop: threading.Event
) -> Callable[[random.Random], None]:
    """SIGKILL a worker's process group, sleep a little as master-crasher does, restart it."""

    def act(rng: random.Random) -> None:
        name = workers.pick(rng)
        if name is None:
            timeline.event("kill", "skip", detail="no worker to spare", mark=":c")
            return
        workers.kill(name)
        timeline.event("kill", "kill", name, "SIGKILL to its process group", mark=f"c{name[1:]}")
        stop.wait(rng.uniform(0.1, 1.0))
        workers.restart(name)
        timeline.event("kill", "restart", name, mark=f"r{name[1:]}")

    return act


def pause_and_resume(
    workers: Workers, timeline: Timeline, stop: threading.Event, lease_seconds: float
) -> Callable[[random.Random], None]:
    """SIGSTOP a worker for one to two leases (its leases expire, its jobs go to others), then
    SIGCONT: it must not write what others redid. Cut short when the run heals."""

    def act(rng: random.Random) -> None:
        name = workers.pick(rng)
        if name is None or not workers.pause(name):
            timeline.event("pause", "skip", detail="no worker to spare", mark=":p")
            return
        seconds = rng.uniform(1.0, 2.0) * lease_seconds
        timeline.event("pause", "pause", name, f"SIGSTOP for {seconds:.1f} s", mark=f"p{name[1:]}")
        stop.wait(seconds)
        workers.resume(name)
        timeline.event("pause", "resume", name, "SIGCONT", mark=f"u{name[1:]}")

    return act


def grow_or_shrink(
    workers: Workers, timeline: Timeline, most: int
) -> Callable[[random.Random], None]:
    """Add a worker (up to `most` running), or stop one with SIGTERM (never the last)."""

    def act(rng: random.Random) -> None:
        running = len(workers.running())
        if running < most and (running <= 1 or rng.random() < 0.5):
            name = workers.grow()
            timeline.event("grow-shrink", "grow", name, mark=f"+{name[1:]}")
            return
        name = workers.shrink(rng)
        if name is None:
            timeline.event("grow-shrink", "skip", detail="one worker left", mark=":-")
            return
        timeline.event("grow-shrink", "shrink", name, "SIGTERM, then SIGKILL", mark=f"-{name[1:]}")

    return act
