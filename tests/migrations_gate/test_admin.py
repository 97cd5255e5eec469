"""The gate's admin: datasets (read only, no add, deleted through the service), projects
(thresholds and datasets editable, nothing that runs), checks (read only, recheck) and
timings (read only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import JobState
from migrations_gate.models import Check, Dataset, MigrationTiming, Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(tmp_path: Path) -> dict:
    copy = tmp_path / "shop-lite.sqlite"
    copy.write_bytes(b"not read here")
    dataset = Dataset.objects.create(
        name="shop-lite", kind="sqlite", path=str(copy), source="/srv/shop.sqlite",
        rules="columns:\n  shop_customer.email: email\n", rules_digest="ab" * 32,
        size_bytes=3 * 1024 * 1024, tables={"shop_customer": 20, "shop_order": 200},
    )  # fmt: skip
    other = Dataset.objects.create(name="shop-big", kind="sqlite", path=str(tmp_path / "b"),
                                   source="/srv/big.sqlite")  # fmt: skip
    project = Project.objects.create(name="shop", repository="/srv/shop.git", kind="django",
                                     target="shopsite.settings")  # fmt: skip
    project.datasets.add(dataset)
    check = Check.objects.create(
        project=project, ref="feature/bigint", commit="0123456789abcdef" * 2 + "01234567",
        state=JobState.SUCCEEDED, outcome="WARNING", summary="**Migrations gate: WARNING**",
        datasets=[{"dataset": "shop-lite", "outcome": "WARNING", "error": "", "findings": [],
                   "steps": [], "left": 0}],
    )  # fmt: skip
    timing = MigrationTiming.objects.create(project=project, dataset=dataset, check_run=check,
                                            migration="shop.0004_quantity_bigint", seconds=1.5,
                                            ok=True)  # fmt: skip
    return {"dataset": dataset, "other": other, "project": project, "check": check,
            "timing": timing}  # fmt: skip


def page(client, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.content.decode()


def test_pages_render(admin_client, rows):
    check, dataset, timing = rows["check"], rows["dataset"], rows["timing"]
    datasets = page(admin_client, "/admin/migrations_gate/dataset/")
    assert "shop-lite" in datasets and "3.0\xa0MB" in datasets
    assert "manage.py gate dataset add" in datasets
    shown = page(admin_client, f"/admin/migrations_gate/dataset/{dataset.pk}/change/")
    assert "shop_customer.email: email" in shown and "ab" * 32 in shown
    assert admin_client.get("/admin/migrations_gate/dataset/add/").status_code == 403

    projects = page(admin_client, "/admin/migrations_gate/project/")
    assert "/srv/shop.git" in projects and "shop-lite" in projects
    assert admin_client.get("/admin/migrations_gate/project/add/").status_code == 403

    checks = page(admin_client, "/admin/migrations_gate/check/?outcome__exact=WARNING")
    assert "feature/bigint" in checks and "0123456789ab" in checks and "Recheck" in checks
    assert f"/media/logs/migrations_gate/{check.pk}/job.log" in checks
    detail = page(admin_client, f"/admin/migrations_gate/check/{check.pk}/change/")
    assert "**Migrations gate: WARNING**" in detail
    assert admin_client.get("/admin/migrations_gate/check/add/").status_code == 403

    timings = page(admin_client, "/admin/migrations_gate/migrationtiming/")
    assert "shop.0004_quantity_bigint" in timings
    page(admin_client, f"/admin/migrations_gate/migrationtiming/{timing.pk}/change/")
    assert admin_client.get("/admin/migrations_gate/migrationtiming/add/").status_code == 403


def test_a_project_changes_only_its_thresholds_and_datasets(admin_client, rows):
    project, other = rows["project"], rows["other"]
    form = {
        "datasets": [rows["dataset"].pk, other.pk], "time_limit_seconds": "600",
        "default_migration_seconds": "30", "min_history": "3", "too_long_fails": "on",
        "lock_budget_seconds": "0.5", "large_table_bytes": "1048576",
        "repository": "--upload-pack=touch /tmp/owned", "kind": "sql",
    }  # fmt: skip
    answer = admin_client.post(f"/admin/migrations_gate/project/{project.pk}/change/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    project.refresh_from_db()
    assert project.time_limit_seconds == 600 and project.too_long_fails is True
    assert project.min_history == 3 and project.lock_budget_seconds == 0.5
    assert sorted(d.name for d in project.datasets.all()) == ["shop-big", "shop-lite"]
    assert (project.repository, project.kind) == ("/srv/shop.git", "django")  # read only


def test_recheck_action_queues_a_new_check(admin_client, rows):
    check = rows["check"]
    answer = admin_client.post(
        "/admin/migrations_gate/check/",
        {"action": "recheck", "_selected_action": [check.pk]},
        follow=True,
    )
    new = Check.objects.exclude(pk=check.pk).get()
    assert f"Check {check.pk}: recheck {new.pk} queued" in answer.content.decode()
    assert (new.project, new.ref, new.recheck_of, new.state) == (
        check.project, check.ref, check, JobState.QUEUED,
    )  # fmt: skip


def test_a_recheck_that_cannot_run_says_why(admin_client, rows):
    check = rows["check"]
    rows["project"].datasets.clear()
    answer = admin_client.post(
        "/admin/migrations_gate/check/",
        {"action": "recheck", "_selected_action": [check.pk]},
        follow=True,
    )
    assert "project shop has no dataset to check on" in answer.content.decode()
    assert Check.objects.count() == 1


def test_deleting_a_dataset_removes_its_copy(admin_client, rows, settings):
    dataset = rows["dataset"]
    answer = admin_client.post(
        f"/admin/migrations_gate/dataset/{dataset.pk}/delete/", {"post": "yes"}
    )
    assert answer.status_code == 302
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not Path(dataset.path).exists()
