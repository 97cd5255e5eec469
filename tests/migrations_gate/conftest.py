"""The gate's fixtures: a database of its own on the suite's PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

PG_ONLY = [pytest.mark.db_dependent, pytest.mark.postgresql_only]


@pytest.fixture
def gate_pg(request: pytest.FixtureRequest) -> Iterator[str]:
    """Conninfo of an empty database on the plugin's server (mark the test with PG_ONLY),
    dropped after the test."""
    proc = request.getfixturevalue("assay_postgresql_proc")
    server = {"host": proc.host, "port": proc.port, "user": proc.user}
    name = f"assay_gate_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin_info = make_conninfo(**server, dbname="postgres")
    with psycopg.connect(admin_info, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_conninfo(**server, dbname=name)
    with psycopg.connect(admin_info, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
