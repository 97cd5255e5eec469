"""Fixture databases for querygen: datagen's ``querygen`` spec (seed 20240601, chunks 0-1)
loaded into SQLite and DuckDB files, and (PostgreSQL pass) into a database of its own.

Session-scoped and shared: open them read-only (every querygen engine does). A test that
needs other tables builds its own database in tmp_path. QUERYGEN_TABLES is what the engines
report for the dataset (every table, every column, as SqlTypes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from datagen.generator import generate_chunk, load_bundled_spec
from datagen.generator.loaders import Target, create_tables, load_chunk
from querygen.engine.engines import PostgresClient
from querygen.engine.model import Column, SqlType, Table
from tests.postgres_plugin import server_database

QUERYGEN_SEED = 20240601
QUERYGEN_CHUNKS = (0, 1)
PG_ONLY = [pytest.mark.db_dependent, pytest.mark.postgresql_only]


def table(name: str, columns: str) -> Table:
    """table("t", "id:int name:text"): a Table of SqlType values."""
    pairs = (c.split(":") for c in columns.split())
    return Table(name, tuple(Column(n, SqlType(t)) for n, t in pairs))


# A generated-database profile whose every integer is an edge value (2147483647, -2147483648,
# ...), never NULL: DuckDB's 32-bit INTEGER overflows where SQLite's 64-bit one does not, so a
# DuckDB-vs-SQLite run has findings within a few queries.
OVERFLOWING = {"database": {"type_weights": {"int": 1}, "p_edge": 1.0, "p_null": 0.0}}
QUERYGEN_TABLES = [
    table("empty", "id:int name:text value:float"),
    table("facts", "id:int number_id:int string_id:int time_id:int k:int qty:int price:float"),
    table(
        "numbers",
        "id:int i32:int i64:int f32:float f64:float amount:decimal flag:bool k:int few:int",
    ),
    table("strings", "id:int word:text phrase:text body:text label:text k:int"),
    table("times", "id:int d:date ts:timestamp"),
]


def load_querygen(target: Target) -> None:
    """The querygen dataset into an empty target, one ledger row per chunk (the ledger table,
    assay_loaded_chunks, is there on purpose: engines must not list it)."""
    spec = load_bundled_spec("querygen")
    chunks = [generate_chunk(spec, c, QUERYGEN_SEED) for c in QUERYGEN_CHUNKS]
    create_tables(target, {name: t.schema for name, t in chunks[0].tables.items()})
    for chunk in chunks:
        load_chunk(
            target, "querygen", "fixture", chunk.chunk_id, chunk.tables, checksum=chunk.checksum
        )


@pytest.fixture(scope="session")
def querygen_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("querygen") / "querygen.sqlite"
    load_querygen(Target.sqlite(path))
    return path


@pytest.fixture(scope="session")
def querygen_duckdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("querygen") / "querygen.duckdb"
    load_querygen(Target.duckdb(path))
    return path


@pytest.fixture(scope="session")
def querygen_pg(request: pytest.FixtureRequest) -> Iterator[str]:
    """Conninfo of a database holding the querygen dataset on the plugin's server (mark the
    test with PG_ONLY); dropped at the end of the session."""
    with server_database(request, f"assay_querygen_{os.getpid()}") as conninfo:
        load_querygen(Target.postgresql(conninfo))
        yield conninfo


@pytest.fixture
def pg(querygen_pg: str) -> Iterator[PostgresClient]:
    """A PostgresClient on querygen_pg (mark the test with PG_ONLY)."""
    with PostgresClient(querygen_pg) as engine:
        yield engine


# --- the app's engines: core Engine rows over the session's fixture files -------------------------


@pytest.fixture
def qg_engines(db, querygen_sqlite: Path, querygen_duckdb: Path):
    """Engine rows `qg-duckdb` (the system under test) and `qg-sqlite` (the reference)."""
    from core.models import Engine

    duck = Engine.objects.create(name="qg-duckdb", kind="duckdb", path=str(querygen_duckdb))
    lite = Engine.objects.create(name="qg-sqlite", kind="sqlite", path=str(querygen_sqlite))
    return duck, lite


@pytest.fixture(scope="session")
def nan_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tests.querygen import nan_dataset

    return nan_dataset.build(tmp_path_factory.mktemp("nan"))


@pytest.fixture
def nan_engines(db, nan_files: tuple[Path, Path]):
    """Engine rows `nan-duckdb` and `nan-sqlite` over tests/querygen/nan_dataset.py's files:
    the engines differ only in how they keep NaN."""
    from core.models import Engine

    duck = Engine.objects.create(name="nan-duckdb", kind="duckdb", path=str(nan_files[0]))
    lite = Engine.objects.create(name="nan-sqlite", kind="sqlite", path=str(nan_files[1]))
    return duck, lite


# --- other DuckDB releases, each in its virtualenv (querygen/engine/releases.py) ----------------

# 2.0.1: a release with a known crash of its own (test_bisect), whatever DuckDB is installed.
BISECT_RELEASES = ("0.9.2", "0.10.3", "1.0.0", "1.1.3", "2.0.1")


@pytest.fixture(scope="session")
def duckdb_releases() -> dict[str, Path]:
    """The interpreters of BISECT_RELEASES, from the release cache that persists between runs
    ($ASSAY_RELEASE_CACHE or ~/.cache/assay/releases): a few seconds per release the first
    time on a machine, a fraction of a second after."""
    from querygen.engine.releases import ensure_release

    return {version: ensure_release("duckdb", version) for version in BISECT_RELEASES}


@pytest.fixture(scope="session")
def duckdb_release_engines(duckdb_releases: dict[str, Path]) -> Iterator[dict[str, object]]:
    """An IsolatedClient on an in-memory database per release of BISECT_RELEASES, open for the
    session: tests load their own database (EngineClient.load) before querying."""
    from querygen.engine import worker
    from querygen.engine.engines import IsolatedClient

    engines = {
        version: IsolatedClient(python, "duckdb", worker.MEMORY, name=f"duckdb {version}")
        for version, python in duckdb_releases.items()
    }
    yield engines
    for engine in engines.values():
        engine.close()
