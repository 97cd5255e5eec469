"""The crash test's timeline (every event, completion and phase, in seconds since the start)
and its workers: named `manage.py qcluster` processes of the site that the nemeses kill, freeze,
restart, add and remove, each life recorded."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from crashtest.harness.site import ThrowawaySite


class Timeline:
    """What happened when, thread-safe. `emit` hears each mark of the progress line as it is
    made (master-crasher's `cN`/`rN`...), so a long run shows its progress as it goes."""

    def __init__(self, emit: Callable[[str], None] | None = None) -> None:
        self.t0 = time.monotonic()
        self._lock = threading.Lock()
        self._emit = emit
        self.events: list[dict] = []
        self.completions: dict[str, list[float]] = {}
        self.phases: list[dict] = []
        self.progress: list[str] = []
        self.last_completion = self.t0

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 3)

    def mark(self, text: str) -> None:
        with self._lock:
            self.progress.append(text)
        if self._emit is not None:
            self._emit(text)

    def event(
        self, nemesis: str, action: str, target: str = "", detail: str = "", mark: str = ""
    ) -> None:
        entry = {
            "t": self.now(),
            "nemesis": nemesis,
            "action": action,
            "target": target,
            "detail": detail,
        }
        with self._lock:
            self.events.append(entry)
        if mark:
            self.mark(mark)

    def completed(self, workload: str, count: int = 1) -> None:
        t = self.now()
        with self._lock:
            if count:
                self.completions.setdefault(workload, []).extend([t] * count)
            self.last_completion = time.monotonic()

    def seconds_since_completion(self) -> float:
        with self._lock:
            return time.monotonic() - self.last_completion

    def phase(self, name: str) -> None:
        """Close the current phase and open `name`."""
        t = self.now()
        with self._lock:
            if self.phases:
                self.phases[-1]["end"] = t
            self.phases.append({"name": name, "start": t, "end": None})

    def close(self) -> None:
        with self._lock:
            if self.phases and self.phases[-1]["end"] is None:
                self.phases[-1]["end"] = self.now()

    def count(self, action: str) -> int:
        with self._lock:
            return sum(1 for e in self.events if e["action"] == action)


@dataclass
class Worker:
    name: str
    lives: list[dict] = field(default_factory=list)
    pauses: list[dict] = field(default_factory=list)
    alive: bool = False
    paused: bool = False
    stopping: bool = False  # being stopped by shrink: no nemesis touches it meanwhile
    log_mark: int = 0  # where this life's output starts in the worker's log


class Workers:
    """The site's qcluster processes by name (w1, w2, ...). Every method is safe to call from
    several nemesis threads: one lock serializes what changes a worker."""

    def __init__(self, site: ThrowawaySite, timeline: Timeline, count: int) -> None:
        self.site = site
        self.timeline = timeline
        self.desired = count
        self.workers: dict[str, Worker] = {}
        self._lock = threading.RLock()
        self._next = 1
        self.closed = False  # after close(), nothing is started any more

    def _new_name(self) -> str:
        name = f"w{self._next}"
        self._next += 1
        return name

    def _start(self, name: str) -> None:
        if self.closed:
            raise RuntimeError(f"{name}: the crash test is over, nothing is started")
        worker = self.workers.setdefault(name, Worker(name))
        # Each life appends to the same log: the readiness of this life is after log_mark.
        log = self.site.log_path(name)
        worker.log_mark = log.stat().st_size if log.exists() else 0
        with open(log, "ab") as out:
            out.write(f"--- life {len(worker.lives) + 1} at {self.timeline.now()} s ---\n".encode())
        self.site.start(name, "qcluster", append=True)
        worker.alive, worker.paused = True, False
        worker.lives.append({"start": self.timeline.now(), "end": None, "end_reason": ""})

    def _end(self, worker: Worker, reason: str) -> None:
        worker.alive = False
        if worker.lives and worker.lives[-1]["end"] is None:
            worker.lives[-1].update(end=self.timeline.now(), end_reason=reason)
        if worker.paused:
            worker.paused = False
            worker.pauses[-1]["end"] = self.timeline.now()

    def start_all(self, deadline: float) -> None:
        with self._lock:
            for _ in range(self.desired):
                self._start(self._new_name())
        for name in list(self.workers):
            self.wait_ready(name, deadline)

    def wait_ready(self, name: str, deadline: float) -> None:
        while not self.is_ready(name):
            process = self.site.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} died:\n{self.site.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{self.site.log(name)[-3000:]}")
            time.sleep(0.1)

    def is_ready(self, name: str) -> bool:
        """This life of `name` logged django-q's " running." and is neither frozen nor dead."""
        worker = self.workers[name]
        if not worker.alive or worker.paused:
            return False
        log = self.site.log_path(name)
        with open(log, "rb") as fh:
            fh.seek(worker.log_mark)
            return b" running." in fh.read()

    def ready(self) -> list[str]:
        with self._lock:
            return [n for n in self.workers if self.is_ready(n)]

    def running(self) -> list[str]:
        """Alive and not frozen: what a nemesis may kill or freeze."""
        with self._lock:
            return [
                n for n, w in self.workers.items() if w.alive and not w.paused and not w.stopping
            ]

    def pick(self, rng: random.Random) -> str | None:
        """A worker to disturb, keeping at least one other ready worker, so work goes on."""
        with self._lock:
            candidates = self.running()
            ready = self.ready()
            choices = [n for n in candidates if [r for r in ready if r != n]]
            return rng.choice(sorted(choices)) if choices else None

    def kill(self, name: str) -> None:
        with self._lock:
            self.site.kill(name)
            self._end(self.workers[name], "killed")

    def restart(self, name: str) -> None:
        with self._lock:
            self._start(name)

    def pause(self, name: str) -> bool:
        with self._lock:
            worker = self.workers[name]
            if not worker.alive or worker.paused:
                return False
            self.site.pause(True, name)
            worker.paused = True
            worker.pauses.append({"start": self.timeline.now(), "end": None})
            return True

    def resume(self, name: str) -> None:
        with self._lock:
            worker = self.workers[name]
            if not worker.paused:
                return
            self.site.pause(False, name)
            worker.paused = False
            worker.pauses[-1]["end"] = self.timeline.now()

    def grow(self) -> str:
        with self._lock:
            name = self._new_name()
            self._start(name)
            return name

    def shrink(self, rng: random.Random) -> str | None:
        """Stop one worker the way an operator would (SIGTERM, then SIGKILL what is left
        after 15 s), keeping at least one."""
        with self._lock:
            alive = self.running()
            if len(alive) <= 1:
                return None
            name = rng.choice(sorted(alive))
            self.workers[name].stopping = True
        try:
            self.site.stop(name)
        finally:
            with self._lock:
                self.workers[name].stopping = False
                self._end(self.workers[name], "stopped")
        return name

    def heal(self, deadline: float) -> None:
        """Thaw every frozen worker, bring the cluster back to its desired size, and wait
        until every worker is ready."""
        with self._lock:
            for name, worker in self.workers.items():
                if worker.paused:
                    self.resume(name)
                if worker.alive and self.site.processes[name].poll() is not None:
                    self._end(worker, "exited")  # died by itself: started again below
            alive = [n for n, w in self.workers.items() if w.alive]
            dead = [n for n, w in self.workers.items() if not w.alive]
            for name in dead[: max(0, self.desired - len(alive))]:
                self._start(name)
                alive.append(name)
            while len(alive) < self.desired:
                name = self._new_name()
                self._start(name)
                alive.append(name)
        for name in [n for n, w in self.workers.items() if w.alive]:
            self.wait_ready(name, deadline)

    def freeze_all(self) -> None:
        """Pause the world: every worker frozen as it is (the state stays for a post-mortem)."""
        with self._lock:
            for name, worker in self.workers.items():
                if worker.alive and not worker.paused:
                    self.pause(name)

    def stop_all(self) -> None:
        with self._lock:
            for name, worker in self.workers.items():
                if worker.alive:
                    self.site.stop(name)
                    self._end(worker, "stopped")

    def kill_all(self) -> None:
        with self._lock:
            for name, worker in self.workers.items():
                if worker.alive:
                    self.site.kill(name)
                    self._end(worker, "killed")

    def close(self) -> None:
        """The end of the crash test: nothing starts any more, every worker is killed; lives
        that were still going end without a reason (they did not die, the test ended)."""
        with self._lock:
            self.closed = True
            for name, worker in self.workers.items():
                if worker.alive:
                    self.site.kill(name)
                    self._end(worker, "")

    def report(self) -> list[dict]:
        with self._lock:
            return [
                {"name": w.name, "lives": list(w.lives), "pauses": list(w.pauses)}
                for w in self.workers.values()
            ]
