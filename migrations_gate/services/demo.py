"""What `make run` gates on a first start: the example shop (migrations_gate/example: a column
added, a row-by-row backfill, an int-to-bigint rewrite) as a git repository with a good
branch and one whose new migration fails, checked on a dataset datagen made (example/shop.yaml,
loaded into the SQLite Engine row DEMO_SOURCE) and anonymized, so the pages show real checks."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from django.conf import settings

from core.exceptions import AssayError
from core.models import Engine
from migrations_gate.models import Check, Dataset, Project
from migrations_gate.services import checks, datasets, projects

__all__ = ["BROKEN_MIGRATION", "DEMO_SOURCE", "EXAMPLE", "ensure_demo", "ensure_demo_source"]

EXAMPLE = Path(__file__).resolve().parents[1] / "example"
DEMO_SOURCE = "gate-demo-source"
DEMO_DATASET = "shop-demo"
DEMO_PROJECT = "shop"
DEMO_RULES = """\
# The demo's anonymization: every text column of the shop has a rule (strict mode).
columns:
  shop_customer.name: name
  shop_customer.email: email
"""
# A change whose migration fails: the column exists already.
BROKEN_MIGRATION = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_quantity_bigint")]
    operations = [migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN total INT")]
"""


def _demo_dir() -> Path:
    return Path(settings.ASSAY_GATE_DIR) / "demo"


def ensure_demo_source() -> Engine:
    """The SQLite Engine row datagen loads the demo's shop into (made once)."""
    path = _demo_dir() / "shop-source.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    engine, _ = Engine.objects.get_or_create(
        name=DEMO_SOURCE,
        defaults={"kind": Engine.Kind.SQLITE, "path": str(path),
                  "description": "The migration gate demo's source: the shop, made by datagen."},
    )  # fmt: skip
    return engine


def ensure_demo() -> list[Check]:
    """Register the demo dataset, the shop project and check its two branches (once); the
    checks made, none if the demo was there."""
    if Project.objects.filter(name=DEMO_PROJECT).exists():
        return []
    source = ensure_demo_source()
    if not Path(source.path).is_file():
        raise AssayError(
            f"the demo's source {source.path} is not there: load it first with "
            f"`manage.py datagen run {EXAMPLE / 'shop.yaml'} --load {DEMO_SOURCE} --format none`",
            code="no_demo_source",
        )
    if not Dataset.objects.filter(name=DEMO_DATASET).exists():
        prepared = _at_first_migration(Path(source.path))
        datasets.register_dataset(DEMO_DATASET, rules=DEMO_RULES, sqlite_file=str(prepared))
    repo = make_repository(_demo_dir() / "shop-repo")
    projects.add_project(DEMO_PROJECT, str(repo), "django", target="shopsite.settings",
                         datasets=[DEMO_DATASET])  # fmt: skip
    return [checks.submit_check(DEMO_PROJECT, ref) for ref in ("main", "broken")]


def _at_first_migration(source: Path) -> Path:
    """The shop as production would have it at its first migration: the schema Django's
    0001 makes (keys, foreign keys), holding the rows datagen wrote into ``source``."""
    prepared = _demo_dir() / "shop-at-0001.sqlite"
    prepared.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["ASSAY_GATE_SQLITE"] = str(prepared)
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "shop", "0001", "--no-input"],
        cwd=EXAMPLE, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise AssayError(f"the demo's shop schema: {last}", code="demo_failed")
    with closing(sqlite3.connect(prepared)) as conn, conn:
        conn.execute("ATTACH DATABASE ? AS source", (f"file:{source}?mode=ro",))
        for table, columns in _SHOP_COLUMNS.items():
            conn.execute(
                f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM source.{table}"  # noqa: S608 - constants
            )
    return prepared


# The columns datagen's example/shop.yaml writes, per table of the shop's first migration.
_SHOP_COLUMNS = {
    "shop_customer": "id, name, email, joined",
    "shop_order": "id, customer_id, total, placed, quantity",
}


def make_repository(repo: Path) -> Path:
    """The example shop as a git repository: `main` as shipped, `broken` adding a migration
    that fails. Made afresh."""
    if repo.exists():
        shutil.rmtree(repo)
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("__pycache__", "*.yaml"))
    git = _git(repo)
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "The shop")
    git("checkout", "-q", "-b", "broken")
    (repo / "shop" / "migrations" / "0005_duplicate_total.py").write_text(BROKEN_MIGRATION)
    git("add", ".")
    git("commit", "-q", "-m", "Add a total column (it exists: the migration fails)")
    git("checkout", "-q", "main")
    return repo


def _git(repo: Path):  # type: ignore[no-untyped-def]
    who = {"NAME": "Assay demo", "EMAIL": "demo@assay.invalid"}
    env = {**os.environ, **{f"GIT_{role}_{k}": v for role in ("AUTHOR", "COMMITTER")
                            for k, v in who.items()}}  # fmt: skip

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)

    return git
