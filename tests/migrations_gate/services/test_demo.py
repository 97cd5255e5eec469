"""`make run`'s gate demo: datagen's shop (example/shop.yaml) in a SQLite source, registered and
anonymized, the example project's two branches checked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core import jobs
from datagen.generator import generate_chunk
from datagen.generator.loaders import Target, create_tables, load_chunk
from datagen.generator.spec import load_spec
from migrations_gate.models import Check, Dataset
from migrations_gate.services import demo

pytestmark = pytest.mark.django_db


def load_shop(path: Path) -> None:
    """What `manage.py datagen run example/shop.yaml --load gate-demo-source` does."""
    spec = load_spec(demo.EXAMPLE / "shop.yaml")
    chunks = [generate_chunk(spec, c, 7) for c in range(2)]
    target = Target.sqlite(path)
    create_tables(target, {name: t.schema for name, t in chunks[0].tables.items()})
    for chunk in chunks:
        load_chunk(target, "shop", "demo", chunk.chunk_id, chunk.tables, checksum=chunk.checksum)


def test_the_demo_checks_both_branches_of_the_shop_on_datagens_data() -> None:
    with pytest.raises(Exception, match="load it first with `manage.py datagen run"):
        demo.ensure_demo()
    source = demo.ensure_demo_source()
    load_shop(Path(source.path))
    made = demo.ensure_demo()
    assert [c.ref for c in made] == ["main", "broken"] and demo.ensure_demo() == []  # once
    dataset = Dataset.objects.get(name="shop-demo")
    assert dataset.tables == {"django_migrations": 1, "shop_customer": 500, "shop_order": 8000}
    assert dataset.source.endswith("shop-at-0001.sqlite")
    with sqlite3.connect(dataset.path) as conn:  # anonymized: no name datagen wrote is left
        real = {
            n for (n,) in sqlite3.connect(source.path).execute("SELECT name FROM shop_customer")
        }
        assert not real & {n for (n,) in conn.execute("SELECT name FROM shop_customer")}
    for check in made:
        assert jobs.run_job("migrations_gate.Check", check.pk) == "succeeded"
    good, bad = (Check.objects.get(pk=c.pk) for c in made)
    assert good.outcome == "SUCCESS", good.datasets
    steps = good.datasets[0]["steps"]
    assert [s["migration"] for s in steps] == [
        "shop.0002_note", "shop.0003_backfill_notes", "shop.0004_quantity_bigint",
    ]  # fmt: skip
    assert steps[0]["wal_bytes"] is None  # SQLite: not measured
    assert bad.outcome == "FAILURE"
    assert "shop.0005_duplicate_total failed" in bad.datasets[0]["findings"][0]["message"]
