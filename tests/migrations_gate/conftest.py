"""The gate's fixtures: a database of its own on the suite's PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.models import Engine
from migrations_gate.runner import datasets as store
from migrations_gate.runner.steps import libpq_env, run_driver
from migrations_gate.services import datasets, demo
from tests.postgres_plugin import server_database

EXAMPLE = demo.EXAMPLE
DJANGO_DRIVER = Path(demo.EXAMPLE).parent / "runner" / "drivers" / "django_driver.py"
DRIVER_ARGV = [sys.executable, str(DJANGO_DRIVER), "--settings", "shopsite.settings"]
# The text columns of the shop at its first migration: strict mode needs a rule for each.
RULES = "columns:\n  shop_customer.name: name\n  shop_customer.email: email\n"
FAILING = demo.BROKEN_MIGRATION


def git(repo: Path, *args: str) -> str:
    """git in ``repo`` with a committer of the tests' own; its output."""
    who = {"NAME": "t", "EMAIL": "t@x.io"}
    env = {**os.environ, **{f"GIT_{r}_{k}": v for r in ("AUTHOR", "COMMITTER")
                            for k, v in who.items()}}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True)  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def shop_repo(tmp_path: Path) -> Path:
    """The example project as a repository: `main` as shipped, `broken` adding a migration
    that fails (the demo's)."""
    return demo.make_repository(tmp_path / "shop-repo")


PG_ONLY = [pytest.mark.db_dependent, pytest.mark.postgresql_only]


@pytest.fixture
def gate_pg(request: pytest.FixtureRequest) -> Iterator[str]:
    """Conninfo of an empty database on the plugin's server (mark the test with PG_ONLY),
    dropped after the test."""
    with server_database(request, f"assay_gate_{os.getpid()}_{uuid.uuid4().hex[:8]}") as info:
        yield info


@pytest.fixture(autouse=True)
def _gate_dir(settings, tmp_path):
    """Mirrors, environments, worktrees and SQLite datasets of the test's own."""
    settings.ASSAY_GATE_DIR = tmp_path / "gate"


SOURCE_ORDERS = 2000


@pytest.fixture
def shop_source(request, db) -> Iterator[Engine]:
    """A production-like PostgreSQL source (mark the test with PG_ONLY): the shop at its first
    migration with 50 customers and SOURCE_ORDERS orders, Engine row `shop-prod`; and the
    gate's server, `gate-server`."""
    import time

    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    with server_database(request, f"shop_src_{os.getpid()}") as conninfo:
        env = {**os.environ, **libpq_env(conninfo)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        made = run_driver(DRIVER_ARGV, env=env, cwd=EXAMPLE, deadline=time.monotonic() + 120,
                          stop_after=1)  # fmt: skip
        assert made.steps and made.steps[0].status == "ok", made.tail
        with psycopg.connect(conninfo) as conn:
            conn.execute(
                "INSERT INTO shop_customer (name, email, joined) SELECT 'Customer ' || g, "
                "'c' || g || '@real.example', DATE '2020-01-01' + g FROM generate_series(1, 50) g"
            )
            conn.execute(
                "INSERT INTO shop_order (customer_id, total, placed, quantity) "
                "SELECT 1 + g %% 50, g, now(), g FROM generate_series(1, %s) g",
                (SOURCE_ORDERS,),
            )
        params = conninfo_to_dict(conninfo)
        server = {"kind": "postgresql", "host": params["host"], "port": int(params["port"]),
                  "user": params["user"]}  # fmt: skip
        gate = Engine.objects.create(name="gate-server", database="postgres", **server)
        yield Engine.objects.create(name="shop-prod", database=params["dbname"], **server)
        # The test's rows roll back; the template its dataset made on the server must go too.
        store.drop(gate.conninfo(), datasets.template_name("shop-prod"))
