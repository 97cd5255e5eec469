"""`manage.py datagen run` SIGKILLed mid-chunk, then `datagen resume RUN --work`: the chunk the
dead process held comes back at once (same host, process gone), without waiting for its lease
(300 s here), and the run finishes with every chunk done as the library does it.

Real processes on a throwaway SQLite site (crashtest/harness/site.py), no cluster at all."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from pathlib import Path

from crashtest.harness.site import ThrowawaySite
from datagen.generator import generate_chunk, parse_spec
from tests.datagen.test_tasks import spec_data

SEED = 77
CHUNKS = 16


def running_chunk(db: sqlite3.Connection, run: int) -> tuple[int, str] | None:
    return db.execute(
        "SELECT chunk_id, worker FROM datagen_chunk WHERE run_id = ? AND state = 'running'",
        [run],
    ).fetchone()


def test_resume_work_takes_back_the_chunk_of_a_killed_run_at_once(tmp_path: Path) -> None:
    data = spec_data()
    data["chunking"]["num_chunks"] = CHUNKS
    spec_file = tmp_path / "crash.json"
    spec_file.write_text(json.dumps(data))
    site = ThrowawaySite(tmp_path, extra_env={"ASSAY_JOB_LEASE_SECONDS": "300"})
    site.migrate()
    deadline = time.monotonic() + 120
    run_args = ("datagen", "run", str(spec_file), "--seed", str(SEED), "--no-progress")
    site.start("run", *run_args, "--out", str(tmp_path / "out"))
    with contextlib.closing(sqlite3.connect(site.db, timeout=60)) as db:
        try:
            while not (found := re.search(r"^run (\d+):", site.log("run"), re.M)):
                assert time.monotonic() < deadline, site.logs()
                time.sleep(0.05)
            run = int(found.group(1))
            # Freeze, make sure it still holds a chunk, kill: the kill lands mid-chunk.
            while True:
                assert time.monotonic() < deadline, f"no chunk seen running\n{site.logs()}"
                held = running_chunk(db, run)
                if held:
                    site.pause(True, "run")
                    if running_chunk(db, run) == held:
                        site.kill("run")
                        break
                    site.pause(False, "run")
                time.sleep(0.01)
            killed_chunk, dead_worker = held
            (state,) = db.execute(
                "SELECT state FROM datagen_chunk WHERE run_id = ? AND chunk_id = ?",
                [run, killed_chunk],
            ).fetchone()
            assert state == "running"  # its lease has almost 300 s to go

            started = time.monotonic()
            printed = site.manage("datagen", "resume", str(run), "--work", "--no-progress")
            took = time.monotonic() - started
        finally:
            site.kill_all()
        # Far less than the lease: the chunk came back because its worker is gone.
        assert took < 150, took
        assert f"run {run} finished:" in printed, printed
        assert f"{CHUNKS} completed, 0 in limbo" in printed
        expected = parse_spec(data)
        rows = db.execute(
            "SELECT chunk_id, state, checksum, attempts, worker FROM datagen_chunk "
            "WHERE run_id = ? ORDER BY chunk_id",
            [run],
        ).fetchall()
    assert [r[0] for r in rows] == list(range(CHUNKS))
    for chunk_id, state, checksum, _, _ in rows:
        assert state == "succeeded"
        assert checksum == generate_chunk(expected, chunk_id, SEED).checksum
    # resume gives fresh attempts; the killed chunk was worked again by the resuming process
    assert rows[killed_chunk][4] != dead_worker
