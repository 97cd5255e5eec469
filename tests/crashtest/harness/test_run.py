"""The crash test's progress watchdog, for real: every worker frozen in the middle of the
work, no job finishes, and the watchdog pauses the world, writes the state and fails the run."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from crashtest.harness.run import CrashTest, Options


def test_the_watchdog_pauses_the_world_when_no_job_finishes(tmp_path: Path) -> None:
    options = Options(
        workers=2, minutes=1.0, nemeses=[], workloads=["datagen"], seed=3, watchdog_seconds=4
    )
    marks: list[str] = []
    test = CrashTest(options, tmp_path / "crash", marks.append)

    def freeze_once_chaos_starts() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            phases = [p["name"] for p in test.timeline.phases]
            if "chaos" in phases and test.workloads and test.workloads[0].state()["acknowledged"]:
                test.workers.freeze_all()  # a deadlock, as far as anyone outside can tell
                return
            time.sleep(0.05)

    freezer = threading.Thread(target=freeze_once_chaos_starts, daemon=True)
    freezer.start()
    started = time.monotonic()
    report = test.run()
    freezer.join()

    assert report["stopped_by"] == "watchdog" and report["ok"] is False
    assert time.monotonic() - started < 110  # well before the minute of chaos plus a drain
    assert any(e.startswith("paused the world: no job finished for") for e in report["errors"])
    assert "{PAUSE}" in "".join(marks)
    state = json.loads((tmp_path / "crash" / "paused-state.json").read_text())
    assert state["why"].startswith("no job finished") and state["workloads"]["datagen"]
    assert all(w["pauses"] for w in state["workers"])  # each worker frozen, kept for a look
    assert [p["name"] for p in report["phases"]] == ["setup", "chaos"]
    assert report["checks"] == []  # no verdict on a world that never drained
