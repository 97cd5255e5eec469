"""The gate's fixtures: a database of its own on the suite's PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.postgres_plugin import server_database

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
