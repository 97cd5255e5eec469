"""Migrations run one per process, timed and watched, stopping at the first that fails or
outlives the check's time limit; on a real PostgreSQL and on SQLite."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path

import psycopg

from migrations_gate.runner.steps import FAILED, OK, TIMEOUT, libpq_env, run_driver
from tests.migrations_gate.conftest import PG_ONLY

ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = {
    "V1__accounts.sql": "CREATE TABLE accounts (id int PRIMARY KEY, balance int);\n"
    "INSERT INTO accounts SELECT g, g FROM generate_series(1, 20000) g;\n",
    "V2__widen_balance.sql": "ALTER TABLE accounts ALTER COLUMN balance TYPE bigint;\n",
    "V3__broken.sql": "ALTER TABLE acounts ADD COLUMN note text;\n",
    "V4__never.sql": "CREATE TABLE never (id int);\n",
}


def driver(directory: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "migrations_gate.runner.sqlfiles", str(directory), *extra]


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


@PG_ONLY[0]
@PG_ONLY[1]
def test_each_migration_is_timed_and_watched_until_the_first_failure(gate_pg, tmp_path) -> None:
    lines: list[str] = []
    run = run_driver(
        driver(write(tmp_path / "m", MIGRATIONS)),
        env={**os.environ, **libpq_env(gate_pg)},
        cwd=ROOT,
        deadline=time.monotonic() + 120,
        conninfo=gate_pg,
        log=lines.append,
    )
    results = run.steps
    assert run.exit_code == 1 and not run.ended and not run.timed_out
    assert [(r.migration, r.status) for r in results] == [
        ("V1__accounts", OK), ("V2__widen_balance", OK), ("V3__broken", FAILED),
    ]  # fmt: skip
    v1, v2, v3 = results
    # the history table is the SQL runner's own, made with the first migration
    assert v1.measures.created == [
        "public.accounts", "public.accounts_pkey",
        "public.assay_schema_history", "public.assay_schema_history_pkey",
    ]  # fmt: skip
    assert v2.measures.rewritten == ["public.accounts", "public.accounts_pkey"]
    assert any(h.relation == "public.accounts" for h in v2.measures.strongest())
    assert any('relation "acounts" does not exist' in t for t in v3.tail)
    assert all(r.seconds > 0 for r in results)
    assert lines[0] == "=== start V1__accounts"
    assert any(line.startswith("=== end V2__widen_balance ok in ") for line in lines)
    assert lines[-1].startswith("=== end V3__broken FAILED in ")
    with psycopg.connect(gate_pg) as conn:  # V3 left nothing, V4 never ran
        assert conn.execute("SELECT to_regclass('never')").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM assay_schema_history").fetchone() == (2,)


@PG_ONLY[0]
@PG_ONLY[1]
def test_a_migration_that_hangs_is_stopped_at_the_time_limit_leaving_no_session(
    gate_pg, tmp_path
) -> None:
    """Blocked behind another session's lock: the process and its backend are both ended."""
    migrations = write(tmp_path / "m", {
        "V1__t.sql": "CREATE TABLE t (id int);\n",
        "V2__blocked.sql": "ALTER TABLE t ADD COLUMN x int;\n",
    })  # fmt: skip
    env = {**os.environ, **libpq_env(gate_pg)}
    with psycopg.connect(gate_pg) as conn:  # V1 applied, as the dataset was registered
        conn.execute("CREATE TABLE t (id int)")
        conn.execute(
            "CREATE TABLE assay_schema_history (version text, description text, "
            "script text, checksum text, installed_on timestamp, execution_time int)"
        )
        conn.execute(
            "INSERT INTO assay_schema_history VALUES ('1', 't', 'V1__t.sql', '', now(), 0)"
        )
    with psycopg.connect(gate_pg) as blocker:
        blocker.execute("LOCK TABLE t IN SHARE MODE")
        started = time.monotonic()
        run = run_driver(driver(migrations), env=env, cwd=ROOT, deadline=started + 3,
                         conninfo=gate_pg)  # fmt: skip
        results = run.steps
        assert run.timed_out and run.exit_code is None and time.monotonic() - started < 20
        assert [(r.migration, r.status) for r in results] == [("V2__blocked", TIMEOUT)]
        waited = [h for h in results[0].measures.locks if h.relation == "public.t"]
        assert waited and waited[0].waited
        count = blocker.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'assay-gate-%%' "
            "AND application_name NOT LIKE 'assay-gate-watch%%' AND datname = current_database()"
        ).fetchone()
        assert count == (0,)


def test_on_sqlite_migrations_run_unwatched(tmp_path) -> None:
    migrations = write(tmp_path / "m", {
        "V1__t.sql": "CREATE TABLE t (id INTEGER);\n",
        "V2__rows.sql": "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n",
    })  # fmt: skip
    db = tmp_path / "d.sqlite"
    run = run_driver(
        driver(migrations, "--sqlite", str(db)), env=dict(os.environ), cwd=ROOT,
        deadline=time.monotonic() + 60,
    )  # fmt: skip
    assert [(r.status, r.measures) for r in run.steps] == [(OK, None), (OK, None)]
    assert run.ended and run.left == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)
