"""The drivers run in a project's own environment: Python 3.8 syntax, nothing of Assay's. The
Django driver applies the example project's pending migrations one at a time, on a real
PostgreSQL (watched) and on SQLite."""

from __future__ import annotations

import ast
import datetime
import os
import sqlite3
import sys
import time
from pathlib import Path

import psycopg
import pytest

from migrations_gate.runner.steps import FAILED, OK, libpq_env, run_driver

ROOT = Path(__file__).resolve().parents[3]
DRIVERS = ROOT / "migrations_gate" / "runner" / "drivers"
EXAMPLE = ROOT / "migrations_gate" / "example"
DJANGO_DRIVER = [
    sys.executable,
    str(DRIVERS / "django_driver.py"),
    "--settings",
    "shopsite.settings",
]
FAILING = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_quantity_bigint")]
    operations = [migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN total INT")]
"""


@pytest.mark.parametrize("path", sorted(DRIVERS.glob("*.py")), ids=lambda p: p.name)
def test_drivers_parse_as_python_3_8(path: Path) -> None:
    ast.parse(path.read_text(), feature_version=(3, 8))


def project(tmp_path: Path, failing: bool = False) -> Path:
    """A copy of the example project (a check's worktree), with a failing 0005 if asked."""
    import shutil

    copy = tmp_path / "project"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    if failing:
        (copy / "shop" / "migrations" / "0005_duplicate_total.py").write_text(FAILING)
    return copy


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_the_django_driver_applies_and_the_gate_watches_each_migration(gate_pg, tmp_path) -> None:
    proj = project(tmp_path)
    env = {**os.environ, **libpq_env(gate_pg)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # The dataset: the schema at 0001 with rows to migrate
    first = run_driver([*DJANGO_DRIVER], env=env, cwd=proj, deadline=time.monotonic() + 120,
                       stop_after=1)  # fmt: skip
    assert [s.migration for s in first.steps] == ["shop.0001_initial"]
    with psycopg.connect(gate_pg) as conn:
        conn.execute("INSERT INTO shop_customer (name, email, joined) VALUES ('a', 'a@x.io', %s)",
                     (datetime.date(2020, 1, 1),))  # fmt: skip
        conn.execute(
            "INSERT INTO shop_order (customer_id, total, placed, quantity) SELECT 1, g, now(), g "
            "FROM generate_series(1, 3000) g"
        )
    lines: list[str] = []
    run = run_driver(DJANGO_DRIVER, env=env, cwd=proj, deadline=time.monotonic() + 300,
                     conninfo=gate_pg, log=lines.append)  # fmt: skip
    assert run.ended and run.left == 0 and run.exit_code == 0, run.tail
    assert [(s.migration, s.status) for s in run.steps] == [
        ("shop.0002_note", OK), ("shop.0003_backfill_notes", OK), ("shop.0004_quantity_bigint", OK),
    ]  # fmt: skip
    note, backfill, widen = run.steps
    assert note.measures.rewritten == [] and widen.measures.rewritten[0] == "public.shop_order"
    # (its ACCESS EXCLUSIVE lock lasts a few milliseconds here: sampled or not, see test_watch)
    assert backfill.seconds > widen.seconds  # 3,000 saves, one by one
    assert backfill.measures.wal_bytes > note.measures.wal_bytes
    assert any("Applying shop.0003_backfill_notes" in line for line in lines)


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_a_failing_django_migration_stops_the_run_with_its_traceback(gate_pg, tmp_path) -> None:
    env = {**os.environ, **libpq_env(gate_pg)}
    run = run_driver(DJANGO_DRIVER, env=env, cwd=project(tmp_path, failing=True),
                     deadline=time.monotonic() + 300, conninfo=gate_pg)  # fmt: skip
    assert [s.status for s in run.steps] == [OK, OK, OK, OK, FAILED] and run.exit_code == 1
    failed = run.failed
    assert failed.migration == "shop.0005_duplicate_total" and not run.ended
    assert any("Traceback" in line for line in failed.tail)
    assert any('column "total" of relation "shop_order" already exists' in t for t in failed.tail)


def test_the_django_driver_runs_on_sqlite_unwatched(tmp_path) -> None:
    db = tmp_path / "shop.sqlite"
    env = {**os.environ, "ASSAY_GATE_SQLITE": str(db)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    run = run_driver(DJANGO_DRIVER, env=env, cwd=project(tmp_path),
                     deadline=time.monotonic() + 120)  # fmt: skip
    assert run.ended and run.left == 0 and len(run.steps) == 4
    assert all(s.status == OK and s.measures is None for s in run.steps)
    with sqlite3.connect(db) as conn:
        applied = conn.execute("SELECT count(*) FROM django_migrations WHERE app = 'shop'")
        assert applied.fetchone() == (4,)


def test_a_driver_without_settings_says_so(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    run = run_driver([sys.executable, str(DRIVERS / "django_driver.py")], env=env,
                     cwd=project(tmp_path), deadline=time.monotonic() + 60)  # fmt: skip
    assert run.exit_code == 2 and not run.steps
    assert run.tail == ["error: no settings module: pass --settings or DJANGO_SETTINGS_MODULE"]


ALEMBIC_PROJECT = ROOT / "tests" / "migrations_gate" / "projects" / "alembic_shop"
ALEMBIC_DRIVER = [sys.executable, str(DRIVERS / "alembic_driver.py")]


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_the_alembic_driver_upgrades_one_revision_at_a_time(gate_pg) -> None:
    env = {**os.environ, **libpq_env(gate_pg)}
    first = run_driver(ALEMBIC_DRIVER, env=env, cwd=ALEMBIC_PROJECT,
                       deadline=time.monotonic() + 120, stop_after=1)  # fmt: skip
    assert [s.migration for s in first.steps] == ["a1"], first.tail
    with psycopg.connect(gate_pg) as conn:
        conn.execute("INSERT INTO accounts SELECT g, g FROM generate_series(1, 5000) g")
    run = run_driver(ALEMBIC_DRIVER, env=env, cwd=ALEMBIC_PROJECT,
                     deadline=time.monotonic() + 120, conninfo=gate_pg)  # fmt: skip
    assert [(s.migration, s.status) for s in run.steps] == [("a2", OK), ("a3", OK)], run.tail
    assert run.ended and run.left == 0
    note, widen = run.steps
    assert note.measures.rewritten == [] and "public.accounts" in widen.measures.rewritten
    with psycopg.connect(gate_pg) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("a3",)


def test_the_alembic_driver_runs_on_sqlite(tmp_path) -> None:
    env = {**os.environ, "ASSAY_GATE_SQLITE": str(tmp_path / "a.sqlite")}
    run = run_driver(ALEMBIC_DRIVER, env=env, cwd=ALEMBIC_PROJECT,
                     deadline=time.monotonic() + 120)  # fmt: skip
    assert [s.migration for s in run.steps] == ["a1", "a2", "a3"] and run.left == 0, run.tail
    again = run_driver(ALEMBIC_DRIVER, env=env, cwd=ALEMBIC_PROJECT,
                       deadline=time.monotonic() + 120)  # fmt: skip
    assert again.steps == [] and again.ended and again.left == 0  # nothing pending


def test_the_alembic_driver_without_its_config_says_so(tmp_path) -> None:
    run = run_driver(ALEMBIC_DRIVER, env=dict(os.environ), cwd=tmp_path,
                     deadline=time.monotonic() + 60)  # fmt: skip
    assert run.exit_code == 2 and run.tail == [f"error: no alembic.ini in {tmp_path}"]
