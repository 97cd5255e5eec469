"""A querygen run on real `manage.py qcluster` processes: the cluster is SIGKILLed (its whole
process group) mid-run, after a checkpoint; a fresh cluster and the reaper finish the run. The
run then checked exactly its budget of queries, and holds exactly the findings an uninterrupted
run of the same seed finds, each once, each group counting its findings once.

The site (crashtest/harness/site.py) is a temp SQLite file migrated in a subprocess, read back here
with plain sqlite3; the engines are tests/querygen/nan_dataset.py's DuckDB and SQLite files.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import time
from pathlib import Path

from crashtest.harness.site import ThrowawaySite
from querygen.engine.engines import DuckDBClient, SQLiteClient
from querygen.engine.generator import QueryGenerator
from querygen.engine.oracles import Differential
from querygen.engine.runner import run as run_queries
from querygen.engine.schema import common_schema
from tests.querygen import nan_dataset

SEED = 31
QUERIES = 1000
TIMEOUT = 1.0  # at most half the short lease below, as build_run requires
LEASE_SECONDS = 5
DEADLINE_SECONDS = 300

SUBMIT = """
from core.models import Engine
from querygen.services.runs import submit_run
Engine.objects.create(name="nan-duckdb", kind="duckdb", path={duck!r})
Engine.objects.create(name="nan-sqlite", kind="sqlite", path={lite!r})
run = submit_run(sut="nan-duckdb", reference="nan-sqlite", budget_queries={queries},
                 seed={seed}, timeout={timeout}, max_reductions=5,
                 profile={{"data": "dataset"}})
print("RUN", run.pk)
"""

REAPER = """
import time
from core.jobs import reap_jobs
from querygen.models import QuerygenRun
end = time.monotonic() + {seconds}
while time.monotonic() < end:
    if QuerygenRun.objects.filter(pk={run}, state="succeeded").exists():
        break
    if reap_jobs():
        print("reaper requeued", flush=True)
    time.sleep(0.5)
"""


def row(db: sqlite3.Connection, run: int) -> tuple:
    return db.execute(
        "SELECT state, next_index, queries, attempts, worker, error FROM querygen_querygenrun "
        "WHERE id = ?",
        [run],
    ).fetchone()


def run_past_a_checkpoint(
    site: ThrowawaySite, db: sqlite3.Connection, duck: Path, lite: Path, deadline: float
) -> tuple[subprocess.Popen, int]:
    """Start cluster-a, submit the run, and return (the cluster, the run's id) once the run
    is running with a checkpoint past its 100th query, before it ends."""
    cluster = site.start("cluster-a", "qcluster")
    site.wait_running("cluster-a", deadline)
    script = SUBMIT.format(
        duck=str(duck), lite=str(lite), queries=QUERIES, seed=SEED, timeout=TIMEOUT
    )
    printed = site.manage("shell", "-c", script)
    run = int(next(ln for ln in printed.splitlines() if ln.startswith("RUN ")).split()[1])
    while True:
        assert time.monotonic() < deadline, f"{row(db, run)}\n{site.logs()}"
        state, next_index, *_ = row(db, run)
        assert state != "succeeded", "the run ended before its cluster was interrupted"
        if state == "running" and next_index >= 100:
            return cluster, run
        time.sleep(0.05)


def wait_succeeded(site: ThrowawaySite, db: sqlite3.Connection, run: int, deadline: float) -> None:
    while row(db, run)[0] != "succeeded":
        assert time.monotonic() < deadline, f"{row(db, run)}\n{site.logs()}"
        assert row(db, run)[0] != "failed", f"{row(db, run)}\n{site.logs()}"
        time.sleep(0.2)


def test_a_killed_cluster_loses_no_query_and_records_no_finding_twice(tmp_path: Path) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    duck, lite = nan_dataset.build(tmp_path / "data")
    site = ThrowawaySite(
        tmp_path / "site", extra_env={"ASSAY_JOB_LEASE_SECONDS": str(LEASE_SECONDS)}
    )
    site.migrate()
    with contextlib.closing(sqlite3.connect(site.db, timeout=60)) as db:
        try:
            # Kill once a checkpoint is on the row and findings are recorded past it or not:
            # whatever was done after the checkpoint is done again by the next attempt.
            _, run = run_past_a_checkpoint(site, db, duck, lite, deadline)
            site.kill("cluster-a")
            killed_at = row(db, run)
            assert killed_at[0] == "running" and killed_at[1] < QUERIES
            site.start("cluster-b", "qcluster")
            seconds = int(deadline - time.monotonic())
            site.start("reaper", "shell", "-c", REAPER.format(run=run, seconds=seconds))
            wait_succeeded(site, db, run, deadline)
        finally:
            site.kill_all()

        state, next_index, queries, attempts, _, _ = row(db, run)
        assert (next_index, queries) == (QUERIES, QUERIES)
        assert attempts >= 2
        found = [
            index
            for (index,) in db.execute(
                "SELECT `index` FROM querygen_finding WHERE run_id = ? ORDER BY `index`", [run]
            )
        ]
        assert len(found) == len(set(found))
        assert found == uninterrupted_findings(duck, lite)
        counts = db.execute(
            "SELECT g.count, (SELECT COUNT(*) FROM querygen_finding f WHERE f.group_id = g.id) "
            "FROM querygen_group g"
        ).fetchall()
        assert counts and all(a == b for a, b in counts)
        (findings,) = db.execute(
            "SELECT findings FROM querygen_querygenrun WHERE id = ?", [run]
        ).fetchone()
        assert findings == len(found)


def test_a_cluster_stops_within_10_s_of_sigterm_and_hands_its_run_back(tmp_path: Path) -> None:
    """SIGTERM to qcluster (its leader only, as `kill` or a container runtime sends it): the
    running querygen run checkpoints, goes back to the queue with its attempt not counted, and
    the cluster exits within 10 s; a fresh cluster then completes the run, once."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    duck, lite = nan_dataset.build(tmp_path / "data")
    site = ThrowawaySite(tmp_path / "site")
    site.migrate()
    with contextlib.closing(sqlite3.connect(site.db, timeout=60)) as db:
        try:
            cluster, run = run_past_a_checkpoint(site, db, duck, lite, deadline)
            cluster.terminate()  # SIGTERM to the leader alone
            cluster.wait(timeout=10)  # the requirement itself: TimeoutExpired fails the test
            state, next_index, queries, attempts, _, _ = row(db, run)
            assert (state, attempts) == ("queued", 0), site.logs()
            assert 100 <= next_index < QUERIES, "the checkpoint went back"
            site.start("cluster-b", "qcluster")
            wait_succeeded(site, db, run, deadline)
        finally:
            site.kill_all()
        state, next_index, queries, attempts, _, _ = row(db, run)
        assert (next_index, queries, attempts) == (QUERIES, QUERIES, 1)
        found = [
            index
            for (index,) in db.execute(
                "SELECT `index` FROM querygen_finding WHERE run_id = ? ORDER BY `index`", [run]
            )
        ]
        assert found == uninterrupted_findings(duck, lite)


def uninterrupted_findings(duck: Path, lite: Path) -> list[int]:
    """The indexes of the findings of the same run, in this process, without a crash."""
    with DuckDBClient(duck) as d, SQLiteClient(lite) as s:
        found: list[int] = []
        run_queries(
            Differential(d, s, timeout=TIMEOUT),
            QueryGenerator(common_schema(d, s), seed=SEED, dialects=["duckdb", "sqlite"]),
            budget_queries=QUERIES,
            budget_seconds=None,
            on_finding=lambda f: found.append(f.index),
        )
    return found


def test_the_schedule_is_registered(db) -> None:
    from django_q.models import Schedule

    from core.registry import sync_schedules
    from querygen.tasks import START_SCHEDULE_NAME

    sync_schedules()
    schedule = Schedule.objects.get(name=START_SCHEDULE_NAME)
    assert schedule.func == "querygen.tasks.start_due_runs"
    assert schedule.repeats == -1
