"""What the run-submitting workloads (datagen, querygen) share: a client thread that keeps a
few runs in flight over the API, each labelled so that a submission whose answer was lost is
still recognised if the site made it, and follows them to their end (also after stop(): the
drain). Subclasses say what to submit, how far a run got, and whether it is finished."""

from __future__ import annotations

import threading
from collections.abc import Callable

from crashtest.harness.api import Api, NoAnswer


class RunsWorkload:
    name = ""
    path = ""  # the API's collection of runs, e.g. /api/v1/datagen/runs/

    def __init__(
        self,
        api: Api,
        *,
        seed: int,
        in_flight: int = 2,
        on_done: Callable[[str, int], None] | None = None,
    ) -> None:
        """`on_done(name, n)` hears the units of work completed (chunks, queries) as seen."""
        self.api = api
        self.seed = seed
        self.in_flight = in_flight
        self.on_done = on_done
        self._lock = threading.Lock()
        self.attempted: list[str] = []
        self.acknowledged: dict[str, int] = {}  # label -> run id
        self.indeterminate: list[str] = []
        self.refused: dict[str, str] = {}
        self.finished: set[str] = set()
        self._completed: dict[str, int] = {}  # label -> units seen completed
        self._submitting = threading.Event()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self.following: dict[str, int] = {}  # recovered runs followed to their end (adopt)
        self.errors: list[str] = []

    def body(self, label: str) -> dict:
        raise NotImplementedError

    def progress(self, run: dict) -> tuple[int, bool]:
        """(units completed, finished) of a run as the API shows it."""
        raise NotImplementedError

    def start(self) -> None:
        self._submitting.set()
        self._thread = threading.Thread(target=self._loop, name=f"workload-{self.name}")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        """Submit no more runs; the loop goes on following the runs in flight (drain)."""
        self._submitting.clear()

    def halt(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def outstanding(self) -> int:
        with self._lock:
            return len((set(self.acknowledged) | set(self.following)) - self.finished)

    def _loop(self) -> None:
        n = 0
        while not self._halt.is_set():
            try:
                if self._submitting.is_set() and self.outstanding() < self.in_flight:
                    n += 1
                    self._submit(f"crash-{self.name}-{self.seed}-{n}")
                self._follow()
            except Exception as exc:  # a client bug must not stop the client silently
                self.errors.append(f"{type(exc).__name__}: {exc}")
                if len(self.errors) > 20:
                    return
            self._halt.wait(0.3)

    def adopt(self, deadline: float) -> None:
        """Follow to their end the runs the site made although their submission got no
        answer (recovered): the drain waits for them too, so the checks see a still target."""
        with self._lock:
            unknown = set(self.indeterminate) - set(self.acknowledged)
        for label, run in self.runs_by_label(deadline).items():
            if label in unknown:
                with self._lock:
                    self.following[label] = run["id"]

    def _submit(self, label: str) -> None:
        with self._lock:
            self.attempted.append(label)
        try:
            status, answer = self.api.call("POST", self.path, self.body(label))
        except NoAnswer:
            with self._lock:
                self.indeterminate.append(label)
            return
        with self._lock:
            if status == 202:
                self.acknowledged[label] = answer["id"]
            elif 400 <= status < 500:
                self.refused[label] = f"{status} {str(answer)[:200]}"
            else:
                self.indeterminate.append(label)

    def _follow(self) -> None:
        with self._lock:
            following = {
                k: v
                for k, v in {**self.acknowledged, **self.following}.items()
                if k not in self.finished
            }
        for label, pk in following.items():
            try:
                status, run = self.api.call("GET", f"{self.path}{pk}/")
            except NoAnswer:
                return  # the web server is down: next turn
            if status != 200:
                continue
            done, finished = self.progress(run)
            new = done - self._completed.get(label, 0)
            if new > 0:
                self._completed[label] = done
                if self.on_done is not None:
                    self.on_done(self.name, new)
            if finished:
                with self._lock:
                    self.finished.add(label)

    def state(self) -> dict:
        with self._lock:
            return {
                "attempted": len(self.attempted),
                "acknowledged": len(self.acknowledged),
                "finished": len(self.finished),
                "indeterminate": len(self.indeterminate),
                "refused": len(self.refused),
                "units_completed": sum(self._completed.values()),
            }

    def sanity(self) -> list[str]:
        return []

    def runs_by_label(self, deadline: float) -> dict[str, dict]:
        """Every run of the site with one of this workload's labels (recovered ones too)."""
        mine = set(self.attempted)
        return {r["label"]: r for r in self.api.get_all(self.path, deadline) if r["label"] in mine}
