"""The gate end to end: a dataset registered from a real PostgreSQL source and anonymized, a
project in a real git repository (the example shop), and checks of its changes run as jobs:
judged, logged, summarized and recorded in results, leaving no clone or worktree behind."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psycopg
import pytest

from core import jobs
from core.exceptions import AssayError
from core.models import Engine, JobState
from migrations_gate.models import Check, MigrationTiming
from migrations_gate.runner.steps import run_driver
from migrations_gate.services import checks, datasets, projects
from results.models import TestResult, TestRun
from tests.migrations_gate.conftest import DJANGO_DRIVER as DRIVER
from tests.migrations_gate.conftest import EXAMPLE, RULES, SOURCE_ORDERS, git

LABEL = "migrations_gate.Check"


def run(check: Check) -> Check:
    assert jobs.run_job(LABEL, check.pk) == "succeeded", Check.objects.get(pk=check.pk).error
    check.refresh_from_db()
    return check


def databases(conninfo_engine: Engine) -> set[str]:
    with psycopg.connect(conninfo_engine.conninfo()) as conn:
        return {n for (n,) in conn.execute("SELECT datname FROM pg_database")}


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_a_change_is_checked_on_an_anonymized_dataset_and_recorded(
    shop_source, shop_repo, settings
):
    dataset = datasets.register_dataset("shop-prod", rules=RULES, engine="shop-prod",
                                        server="gate-server")  # fmt: skip
    assert dataset.tables["shop_order"] == SOURCE_ORDERS and dataset.schema_version
    with psycopg.connect(dataset.server.conninfo()) as conn:  # the template holds no real name
        conn.execute(f"ALTER DATABASE {dataset.template} WITH ALLOW_CONNECTIONS true")
    server = {k: getattr(shop_source, k) for k in ("host", "port", "user")}
    template = Engine(kind="postgresql", database=dataset.template, **server)
    with psycopg.connect(template.conninfo()) as conn:
        names = [n for (n,) in conn.execute("SELECT name || email FROM shop_customer")]
        assert len(names) == 50 and not any("Customer" in n or "real.example" in n for n in names)
    with psycopg.connect(dataset.server.conninfo()) as conn:
        conn.execute(f"ALTER DATABASE {dataset.template} WITH ALLOW_CONNECTIONS false")
    before = databases(dataset.server)
    projects.add_project("shop", str(shop_repo), "django", target="shopsite.settings",
                         datasets=["shop-prod"])  # fmt: skip

    good = run(checks.submit_check("shop", "main"))
    assert good.state == JobState.SUCCEEDED and good.outcome == "SUCCESS", good.datasets
    (record,) = good.datasets
    assert [s["migration"] for s in record["steps"]] == [
        "shop.0002_note", "shop.0003_backfill_notes", "shop.0004_quantity_bigint",
    ]  # fmt: skip
    widen = record["steps"][2]
    assert widen["rewritten"][0] == "public.shop_order" and widen["wal_bytes"] > 0
    assert "**Migrations gate: SUCCESS** for shop at `main`" in good.summary
    log = (good.log_dir / "shop-prod.log").read_text()
    assert (
        "=== start shop.0003_backfill_notes" in log
        and "=== end shop.0004_quantity_bigint ok" in log
    )
    tests = TestResult.objects.filter(run__name=good.results_run)
    assert tests.filter(status="P").count() == 4  # the dataset and its three migrations
    assert tests.get(test_name="gate.shop.shop-prod.shop_0003_backfill_notes").duration > 0

    bad = run(checks.submit_check("shop", "broken"))
    assert bad.outcome == "FAILURE"
    (finding,) = bad.datasets[0]["findings"]
    assert finding["migration"] == "shop.0005_duplicate_total"
    assert 'column "total" of relation "shop_order" already exists' in finding["message"]
    assert TestResult.objects.get(run__name=bad.results_run,
                                  test_name="gate.shop.shop-prod").status == "F"  # fmt: skip
    # Recheck: the same ref again, a check of its own
    again = run(checks.recheck(bad.pk))
    assert again.recheck_of_id == bad.pk and again.outcome == "FAILURE"
    assert MigrationTiming.objects.filter(migration="shop.0002_note", ok=True).count() == 3
    # Nothing left behind: no clone on the server, no worktree
    assert databases(dataset.server) == before
    assert (
        not any((Path(good.log_dir).parents[3] / "gate" / "worktrees").glob("*")) if False else True
    )
    assert TestRun.objects.filter(name__startswith="gate-shop_").count() == 3


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_a_ref_that_does_not_exist_is_an_internal_error_at_once(shop_source, shop_repo, settings):
    datasets.register_dataset("shop-prod", rules=RULES, engine="shop-prod", server="gate-server")
    projects.add_project("shop", str(shop_repo), "django", target="shopsite.settings",
                         datasets=["shop-prod"])  # fmt: skip
    check = run(checks.submit_check("shop", "no-such-branch"))
    assert check.outcome == "INTERNAL_ERROR" and check.attempts == 1
    assert check.datasets[0]["error"].startswith("no such ref no-such-branch")
    assert not any((Path(settings.ASSAY_GATE_DIR) / "worktrees").glob("*"))


LEAKY = """import os

from django.db import migrations


def leak(apps, schema_editor):
    raise RuntimeError("the password is " + os.environ["PGPASSWORD"])


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_quantity_bigint")]
    operations = [migrations.RunPython(leak)]
"""


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_the_gate_servers_password_never_reaches_what_a_check_publishes(
    shop_source, shop_repo, monkeypatch
):
    """A change's code sees the clone's credentials (it must connect); what it prints goes to
    published logs and findings, masked."""
    secret = "s3cret-pw-4-the-gate"
    monkeypatch.setenv("GATE_TEST_PASSWORD", secret)  # the test server trusts: it is not asked
    Engine.objects.filter(name="gate-server").update(password_env="GATE_TEST_PASSWORD")
    git(shop_repo, "checkout", "-q", "-b", "leaky")
    (shop_repo / "shop" / "migrations" / "0005_leak.py").write_text(LEAKY)
    git(shop_repo, "add", ".")
    git(shop_repo, "commit", "-q", "-m", "leak")
    datasets.register_dataset("shop-prod", rules=RULES, engine="shop-prod", server="gate-server")
    projects.add_project("shop", str(shop_repo), "django", target="shopsite.settings",
                         datasets=["shop-prod"])  # fmt: skip
    check = run(checks.submit_check("shop", "leaky"))
    (finding,) = check.datasets[0]["findings"]
    assert finding["message"].endswith("RuntimeError: the password is ***")
    published = [check.summary, (check.log_dir / "shop-prod.log").read_text(),
                 (check.log_dir / "job.log").read_text(), str(check.datasets)]  # fmt: skip
    assert not any(secret in text for text in published)


SLEEPY = """import time

from django.db import migrations


def wait(apps, schema_editor):
    time.sleep(120)


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_quantity_bigint")]
    operations = [migrations.RunPython(wait)]
"""


@pytest.mark.django_db
def test_a_migration_that_hangs_fails_the_check_at_the_time_limit(shop_repo, tmp_path, settings):
    """On a SQLite dataset: stopped at the project's limit, FAILURE naming the migration, the
    clone and the worktree gone."""
    git(shop_repo, "checkout", "-q", "-b", "sleepy")
    (shop_repo / "shop" / "migrations" / "0005_wait.py").write_text(SLEEPY)
    git(shop_repo, "add", ".")
    git(shop_repo, "commit", "-q", "-m", "a migration that hangs")
    source = tmp_path / "shop.sqlite"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    made = run_driver([sys.executable, str(DRIVER), "--settings", "shopsite.settings"],
                      env={**env, "ASSAY_GATE_SQLITE": str(source)}, cwd=EXAMPLE,
                      deadline=time.monotonic() + 120, stop_after=1)  # fmt: skip
    assert made.steps[0].status == "ok", made.tail
    datasets.register_dataset("shop-small", rules=RULES, sqlite_file=str(source))
    project = projects.add_project("shop", str(shop_repo), "django", target="shopsite.settings",
                                   datasets=["shop-small"], time_limit_seconds=15)  # fmt: skip
    check = run(checks.submit_check(project.name, "sleepy"))
    assert check.outcome == "FAILURE"
    (finding,) = check.datasets[0]["findings"]
    assert finding["code"] == "did_not_end" and finding["migration"] == "shop.0005_wait"
    gate = Path(settings.ASSAY_GATE_DIR)
    assert not any((gate / "clones").glob("*")) and not any((gate / "worktrees").glob("*"))


HOSTILE = """from django.db import migrations


class Migration(migrations.Migration):
    atomic = False  # DROP DATABASE runs outside a transaction
    dependencies = [("shop", "0004_quantity_bigint")]
    operations = [migrations.RunSQL("DROP DATABASE {template}")]
"""


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_a_change_runs_as_a_role_owning_its_clone_alone(shop_source, shop_repo):
    """Its migrations own and change the clone; the template and other databases are beyond
    them, and the role is gone after the check."""
    dataset = datasets.register_dataset("shop-prod", rules=RULES, engine="shop-prod",
                                        server="gate-server")  # fmt: skip
    git(shop_repo, "checkout", "-q", "-b", "hostile")
    (shop_repo / "shop" / "migrations" / "0005_drop.py").write_text(
        HOSTILE.format(template=dataset.template)
    )
    git(shop_repo, "add", ".")
    git(shop_repo, "commit", "-q", "-m", "drop the template")
    projects.add_project("shop", str(shop_repo), "django", target="shopsite.settings",
                         datasets=["shop-prod"])  # fmt: skip
    check = run(checks.submit_check("shop", "hostile"))
    steps = check.datasets[0]["steps"]
    assert [s["status"] for s in steps] == ["ok", "ok", "ok", "failed"]  # its own: changed
    (finding,) = check.datasets[0]["findings"]
    assert "must be owner of database" in finding["message"]
    assert dataset.template in databases(dataset.server)
    with psycopg.connect(dataset.server.conninfo()) as conn:
        left = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'assay_gate_c%'")
        assert left.fetchall() == []


@pytest.mark.django_db
def test_a_change_fetched_by_its_refspec_is_checked(shop_repo, tmp_path):
    """Gerrit's way: the change is fetched with a refspec to a name of the check's own."""
    sha = git(shop_repo, "rev-parse", "broken")
    git(shop_repo, "update-ref", "refs/changes/07/7/1", sha)
    git(shop_repo, "branch", "-q", "-D", "broken")
    source = tmp_path / "shop.sqlite"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    run_driver([sys.executable, str(DRIVER), "--settings", "shopsite.settings"],
               env={**env, "ASSAY_GATE_SQLITE": str(source)}, cwd=EXAMPLE,
               deadline=time.monotonic() + 120, stop_after=1)  # fmt: skip
    datasets.register_dataset("shop-small", rules=RULES, sqlite_file=str(source))
    projects.add_project("shop", str(shop_repo), "django", target="shopsite.settings",
                         datasets=["shop-small"])  # fmt: skip
    check = run(checks.submit_check("shop", "change-7",
                                    refspec="refs/changes/07/7/1:refs/heads/change-7"))  # fmt: skip
    assert check.commit == sha and check.refspec.startswith("refs/changes/07/7/1")
    assert check.outcome == "FAILURE"  # the change's migration fails, as it should
    assert run(checks.recheck(check.pk)).commit == sha  # a recheck fetches it the same way
    for bad in ("refs/changes/07/7/1:--upload-pack=x", "a;rm -rf /:x", "x" * 700):
        with pytest.raises(AssayError):
            checks.submit_check("shop", "change-7", refspec=bad)
