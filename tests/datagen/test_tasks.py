"""Real `manage.py qcluster` processes on a throwaway SQLite site: one cluster is SIGKILLed
(its whole process group) while it works a chunk; a fresh cluster and the reaper finish the
run; every chunk's effect is then there exactly once (rows and ledger in the load target,
Parquet files), and the run is recorded in results once.

The site (crashtest/harness/site.py) is not pytest-django's test database: a temp SQLite file
migrated by `manage.py migrate` in a subprocess, read back here with plain sqlite3. Nothing here
needs PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from pathlib import Path

import pyarrow.compute as pc

from crashtest.harness.site import ThrowawaySite
from datagen.generator import Spec, dataset_checksum, generate_chunk, parse_spec, run_chunks
from datagen.generator.loaders import LEDGER_TABLE, Target, row_counts
from datagen.generator.run import summarize
from tests.datagen.generator.factories import two_tables

CHUNKS = 16
SEED = 4242
LEASE_SECONDS = 5
DEADLINE_SECONDS = 240  # for the run to complete; it takes well under a minute
ENGINE = "crash-target"

SUBMIT = """
from core.models import Engine
from datagen.services.runs import read_spec_file, submit_run
Engine.objects.create(name={engine!r}, kind="sqlite", path={target!r})
run = submit_run(read_spec_file({spec!r}), seed={seed}, chunks="all", output_format="parquet",
                 output_dir={out!r}, load_engine={engine!r})
print("RUN", run.pk, run.key)
"""

# The scheduled reaper runs once a minute: here it runs every half second until the run is done.
REAPER = """
import time
from core.jobs import reap_jobs
from datagen.models import DatagenRun
end = time.monotonic() + {seconds}
while time.monotonic() < end:
    if DatagenRun.objects.filter(pk={run}, completed_at__isnull=False).exists():
        break
    requeued = reap_jobs()
    if requeued:
        print("reaper requeued", requeued, flush=True)
    time.sleep(0.5)
"""


def spec_data() -> dict:
    data = two_tables()
    data["name"] = "crash"
    data["chunking"]["num_chunks"] = CHUNKS
    data["tables"]["Parent"]["rows"] = 30_000  # 150,000 rows a chunk: a chunk takes a while
    return data


def pgid_of(worker: str) -> int | None:
    """The process group of a chunk row's worker ("host:pid"), None if it is gone."""
    try:
        return os.getpgid(int(worker.rsplit(":", 1)[1]))
    except (ProcessLookupError, ValueError, IndexError):
        return None


def chunk_states(db: sqlite3.Connection, run: int) -> list[tuple]:
    return db.execute(
        "SELECT chunk_id, state, attempts, worker, error FROM datagen_chunk "
        "WHERE run_id = ? ORDER BY chunk_id",
        [run],
    ).fetchall()


def kill_a_cluster_mid_chunk(
    site: ThrowawaySite, db: sqlite3.Connection, run: int, deadline: float
) -> tuple[int, str]:
    """SIGKILL the process group of a cluster while one of its workers has a chunk: the group
    is stopped first (SIGSTOP), the chunk checked to be still running, then killed, so the
    kill lands mid-chunk whatever the timing. Returns (chunk id, the dead worker)."""
    groups = {site.processes[name].pid: name for name in ("cluster-a", "cluster-b")}
    while time.monotonic() < deadline:
        time.sleep(0.01)
        # Once the setup is recorded, so that only chunks are left to recover.
        setup = db.execute("SELECT state FROM datagen_datagenrun WHERE id = ?", [run]).fetchone()
        if setup != ("succeeded",):
            continue
        running = db.execute(
            "SELECT chunk_id, worker FROM datagen_chunk WHERE run_id = ? AND state = 'running'",
            [run],
        ).fetchall()
        for chunk_id, worker in running:
            group = pgid_of(worker)
            if group not in groups:
                continue
            site.pause(True, groups[group])
            still = db.execute(
                "SELECT 1 FROM datagen_chunk WHERE run_id = ? AND chunk_id = ? "
                "AND state = 'running' AND worker = ?",
                [run, chunk_id, worker],
            ).fetchone()
            if still:
                site.kill(groups[group])
                return chunk_id, worker
            site.pause(False, groups[group])  # it finished meanwhile: another one
        left = db.execute(
            "SELECT COUNT(*) FROM datagen_chunk WHERE run_id = ? AND state != 'succeeded'", [run]
        ).fetchone()[0]
        assert left, f"the run ended before a chunk was caught running\n{site.logs()}"
    raise AssertionError(f"no chunk seen running: {chunk_states(db, run)}\n{site.logs()}")


def test_a_killed_cluster_loses_no_chunk_and_duplicates_none(tmp_path: Path) -> None:
    crash_and_check(tmp_path)


def crash_and_check(
    folder: Path, extra_env: dict[str, str] | None = None
) -> tuple[ThrowawaySite, int, tuple[int, str]]:
    """The whole crash test on a site in `folder` (`extra_env` over its environment: another
    broker): crash_and_recover, then check_each_chunk_once. Returns the site, the run's id and
    (killed chunk, dead worker), for a caller's own checks."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    data = spec_data()
    spec_file = folder / "crash.json"
    spec_file.write_text(json.dumps(data))
    env = {"ASSAY_JOB_LEASE_SECONDS": str(LEASE_SECONDS), **(extra_env or {})}
    site = ThrowawaySite(folder, extra_env=env)
    site.migrate()
    with contextlib.closing(sqlite3.connect(site.db, timeout=60)) as db:
        try:
            run, key, killed = crash_and_recover(site, db, spec_file, deadline)
        finally:
            site.kill_all()
        check_each_chunk_once(db, parse_spec(data), run, key, killed, folder)
    return site, run, killed


def crash_and_recover(
    site: ThrowawaySite, db: sqlite3.Connection, spec_file: Path, deadline: float
) -> tuple[int, str, tuple[int, str]]:
    """Two clusters, a run, one cluster killed mid-chunk, then a fresh cluster and the reaper
    until the run is completed. Returns the run's id and key, (killed chunk, dead worker)."""
    for name in ("cluster-a", "cluster-b"):
        site.start(name, "qcluster")
    for name in ("cluster-a", "cluster-b"):
        site.wait_running(name, deadline)
    submit = SUBMIT.format(
        engine=ENGINE,
        target=str(site.folder / "target.sqlite3"),
        spec=str(spec_file),
        seed=SEED,
        out=str(site.folder / "out"),
    )
    printed = site.manage("shell", "-c", submit)
    _, pk, key = next(line for line in printed.splitlines() if line.startswith("RUN ")).split()
    run = int(pk)

    killed = kill_a_cluster_mid_chunk(site, db, run, deadline)
    pending = db.execute(
        "SELECT COUNT(*) FROM datagen_chunk WHERE run_id = ? AND state != 'succeeded'", [run]
    ).fetchone()[0]
    assert pending > 0
    site.start("cluster-c", "qcluster")
    seconds = int(deadline - time.monotonic())
    site.start("reaper", "shell", "-c", REAPER.format(run=run, seconds=seconds))
    while not db.execute(
        "SELECT completed_at FROM datagen_datagenrun WHERE id = ?", [run]
    ).fetchone()[0]:
        assert time.monotonic() < deadline, (
            f"run {run} not completed after {DEADLINE_SECONDS} s; chunks "
            f"(id, state, attempts, worker, error): {chunk_states(db, run)}\n{site.logs()}"
        )
        time.sleep(0.2)
    return run, key, killed


def check_each_chunk_once(
    db: sqlite3.Connection,
    spec: Spec,
    run: int,
    key: str,
    killed: tuple[int, str],
    folder: Path,
) -> None:
    # Every chunk completed, exactly as the library makes it.
    expected = {c: generate_chunk(spec, c, SEED) for c in range(CHUNKS)}
    chunks = {
        chunk_id: (state, json.loads(table_rows), checksum, attempts, worker)
        for chunk_id, state, table_rows, checksum, attempts, worker in db.execute(
            "SELECT chunk_id, state, table_rows, checksum, attempts, worker FROM datagen_chunk "
            "WHERE run_id = ?",
            [run],
        )
    }
    assert sorted(chunks) == list(range(CHUNKS))
    for chunk_id, (state, table_rows, checksum, _, _) in chunks.items():
        assert state == "succeeded", chunk_states(db, run)
        assert table_rows == expected[chunk_id].rows
        assert checksum == expected[chunk_id].checksum
    # the chunk the kill interrupted was done again, by another worker
    killed_chunk, dead_worker = killed
    _, _, _, attempts, worker = chunks[killed_chunk]
    assert attempts >= 2 and worker != dead_worker

    # The load target holds each chunk once: in its ledger, in its rows.
    reference = folder / "reference"
    reference_rows, reference_checksum = summarize(run_chunks(spec, range(CHUNKS), SEED, reference))
    target = folder / "target.sqlite3"
    assert row_counts(Target.sqlite(target)) == reference_rows
    with contextlib.closing(sqlite3.connect(target)) as conn:
        ledger = conn.execute(
            f"SELECT chunk_id, COUNT(*), MIN(checksum), MAX(rows) FROM {LEDGER_TABLE} "
            "WHERE run = ? GROUP BY chunk_id",
            [key],
        ).fetchall()
        sums = {
            table: conn.execute(f'SELECT SUM("id"), SUM({column}) FROM "{table}"').fetchone()
            for table, column in (("Parent", 'LENGTH("name")'), ("Child", '"parent_id"'))
        }
    assert sorted(c for c, *_ in ledger) == list(range(CHUNKS))
    assert all(count == 1 for _, count, _, _ in ledger)
    assert {c: s for c, _, s, _ in ledger} == {c: d.checksum for c, d in expected.items()}
    assert {c: r for c, _, _, r in ledger} == {c: d.total_rows for c, d in expected.items()}
    assert dataset_checksum([(c, s) for c, _, s, _ in ledger]) == reference_checksum
    parents = [d.tables["Parent"] for d in expected.values()]
    children = [d.tables["Child"] for d in expected.values()]
    assert sums == {
        "Parent": (
            sum(pc.sum(t["id"]).as_py() for t in parents),
            sum(pc.sum(pc.utf8_length(t["name"])).as_py() for t in parents),
        ),
        "Child": (
            sum(pc.sum(t["id"]).as_py() for t in children),
            sum(pc.sum(t["parent_id"]).as_py() for t in children),
        ),
    }

    # The Parquet files are the library's, to the byte (a killed writer's hidden temporary
    # files are no chunk's: no reader looks at them).
    out = folder / "out"
    written = sorted(p.relative_to(out) for p in out.rglob("*.parquet"))
    assert written == sorted(p.relative_to(reference) for p in reference.rglob("*.parquet"))
    assert len(written) == CHUNKS * len(spec.tables)
    for path in written:
        assert (out / path).read_bytes() == (reference / path).read_bytes(), path

    # Recorded in results once, every test passing, with the library's checksum.
    (results_run,) = db.execute(
        "SELECT results_run FROM datagen_datagenrun WHERE id = ?", [run]
    ).fetchone()
    runs = db.execute(
        "SELECT id FROM results_testrun WHERE name = ? AND deleted_at IS NULL", [results_run]
    ).fetchall()
    assert len(runs) == 1
    results = {
        name: (status, json.loads(tra))
        for name, status, tra in db.execute(
            "SELECT test_name, status, tra FROM results_testresult WHERE run_id = ?", [runs[0][0]]
        )
    }
    assert {name: status for name, (status, _) in results.items()} == {
        "datagen.crash.Parent": "P",
        "datagen.crash.Child": "P",
        "datagen.crash.dataset": "P",
    }
    assert results["datagen.crash.dataset"][1]["checksum"] == reference_checksum
    assert results["datagen.crash.Child"][1]["rows"] == str(reference_rows["Child"])
