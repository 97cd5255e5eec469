"""What `make run` shows of datagen on a first start: the `querygen` dataset generated into a
DuckDB database and copied to SQLite, the pair querygen compares by default. DuckDB first:
it keeps decimal(18,4) extremes exactly, SQLite keeps about 15 digits of them (REAL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from core.models import Engine
from datagen.generator import load_bundled_spec
from datagen.generator.loaders import copy_between
from datagen.models import DatagenRun
from datagen.services.engines import target_for
from datagen.services.runs import submit_run
from datagen.services.work import work_run

DEMO_SEED = 20261123


def demo_engines() -> tuple[Engine, Engine]:
    folder = Path(settings.VAR_DIR) / "reference"
    folder.mkdir(parents=True, exist_ok=True)
    duck, _ = Engine.objects.get_or_create(
        name="querygen-duckdb",
        defaults={"kind": "duckdb", "path": str(folder / "querygen.duckdb"),
                  "description": "datagen's querygen dataset (the demo's reference)."},
    )  # fmt: skip
    sqlite, _ = Engine.objects.get_or_create(
        name="querygen-sqlite",
        defaults={"kind": "sqlite", "path": str(folder / "querygen.sqlite3"),
                  "description": "The same dataset, copied from querygen-duckdb."},
    )  # fmt: skip
    return duck, sqlite


def load_demo(on_chunk: Callable[[str], None] | None = None) -> DatagenRun | None:
    """Generate the demo dataset once; None when a datagen run exists already."""
    if DatagenRun.objects.exists():
        return None
    duck, sqlite = demo_engines()
    spec = load_bundled_spec("querygen")
    run = submit_run(
        spec,
        seed=DEMO_SEED,
        load_engine=duck.name,
        replace_tables=True,
        label="demo",
    )
    work_run(run, on_chunk=on_chunk)
    # Keys and indexes on the ids: SQLite answers joins on them without scanning.
    keys, indexes = spec.id_keys()
    copy_between(
        target_for(duck), target_for(sqlite), replace=True, primary_keys=keys, indexes=indexes
    )
    run.refresh_from_db()
    return run
