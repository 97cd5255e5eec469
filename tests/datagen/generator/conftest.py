"""Fixtures of the loaders' tests: empty targets of every kind (PostgreSQL: the server of
tests/postgres_plugin.py, a database of its own and a schema per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from datagen.generator.loaders import Target


@pytest.fixture(scope="module")
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """Conninfo of a UTF-8 database of our own on the plugin's server, dropped afterwards."""
    proc = request.getfixturevalue("assay_postgresql_proc")
    server = {"host": proc.host, "port": proc.port, "user": proc.user}
    name = f"assay_loaders_{os.getpid()}"
    with psycopg.connect(make_conninfo(**server, dbname="postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            ).format(sql.Identifier(name))
        )
    yield make_conninfo(**server, dbname=name)
    with psycopg.connect(make_conninfo(**server, dbname="postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def make_target(tmp_path: Any, request: pytest.FixtureRequest) -> Callable[..., Target]:
    """make_target(kind, name): a fresh, empty database of that kind."""

    def make(kind: str, name: str = "db") -> Target:
        if kind == "sqlite":
            return Target.sqlite(tmp_path / f"{name}.sqlite")
        if kind == "duckdb":
            return Target.duckdb(tmp_path / f"{name}.duckdb")
        conninfo = request.getfixturevalue("pg_database")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        # The schema is chosen the way an operator would: search_path in the conninfo.
        return Target.postgresql(make_conninfo(conninfo, options=f"-c search_path={schema}"))

    return make


@pytest.fixture
def target(kind: str, make_target: Callable[..., Target]) -> Target:
    return make_target(kind)
