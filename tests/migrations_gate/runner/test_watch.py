"""Watching a migration that another process runs on a real PostgreSQL: its locks, the tables
it rewrites, its WAL and the size change."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import psycopg
import pytest

from migrations_gate.runner.watch import Watch
from tests.migrations_gate.conftest import PG_ONLY

pytestmark = PG_ONLY
APP = "assay-gate-test"


def migrate(conninfo: str, statements: str) -> None:
    """Run ``statements`` in one transaction in another process, as a migration tool would,
    under the application_name the watch looks for."""
    script = textwrap.dedent(
        """
        import sys, psycopg
        with psycopg.connect(sys.argv[1]) as conn:
            conn.execute(sys.argv[2])
        """
    )
    env = {**os.environ, "PGAPPNAME": APP}
    subprocess.run([sys.executable, "-c", script, conninfo, statements], env=env, check=True)


@pytest.fixture
def accounts(gate_pg: str) -> str:
    with psycopg.connect(gate_pg) as conn:
        conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int, note text)")
        conn.execute(
            "INSERT INTO accounts SELECT g, g % 1000, 'n' || g FROM generate_series(1, 50000) g"
        )
    return gate_pg


def test_a_column_type_change_rewrites_the_table_under_an_access_exclusive_lock(accounts) -> None:
    with Watch(accounts, APP) as watch:
        migrate(
            accounts, "ALTER TABLE accounts ALTER COLUMN balance TYPE bigint; SELECT pg_sleep(0.4)"
        )
    m = watch.measures
    assert m.rewritten == ["public.accounts", "public.accounts_pkey"]
    exclusive = [h for h in m.strongest() if h.relation == "public.accounts"]
    assert exclusive and exclusive[0].seconds >= 0.3 and not exclusive[0].waited
    assert m.wal_bytes > 1_000_000  # the new copy of 50,000 rows is logged
    assert m.samples > 10


def test_adding_a_nullable_column_rewrites_nothing(accounts) -> None:
    with Watch(accounts, APP) as watch:
        migrate(
            accounts, "ALTER TABLE accounts ADD COLUMN flag boolean; CREATE TABLE audit (id int)"
        )
    m = watch.measures
    assert m.rewritten == [] and m.created == ["public.audit"] and m.dropped == []
    assert m.wal_bytes < 200_000 and m.size_change_bytes < 100_000


def test_a_lock_waited_for_is_marked(accounts) -> None:
    """A migration queued behind another session's lock: seen waiting for it."""
    code = "import sys, psycopg\nwith psycopg.connect(sys.argv[1]) as c: c.execute(sys.argv[2])"
    with psycopg.connect(accounts) as blocker:
        blocker.execute("LOCK TABLE accounts IN SHARE MODE")
        with Watch(accounts, APP) as watch:
            proc = subprocess.Popen(
                [sys.executable, "-c", code, accounts, "ALTER TABLE accounts DROP COLUMN note"],
                env={**os.environ, "PGAPPNAME": APP},
            )
            deadline = time.monotonic() + 20
            while not any(h.waited for h in watch.held()) and time.monotonic() < deadline:
                time.sleep(0.02)
            blocker.rollback()
            assert proc.wait(timeout=30) == 0
    waited = [h for h in watch.measures.strongest() if h.relation == "public.accounts"]
    assert waited and waited[0].waited
