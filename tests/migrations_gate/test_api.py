"""The gate's REST API: a CI submits a check (202 and a Location), polls it, reads its outcome,
per-dataset records and Markdown summary, rechecks it; datasets and projects are listed. The
checks are real: the example shop in a git repository, on a SQLite dataset."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from django.urls import include, path

from core import jobs
from core.models import JobState
from migrations_gate.models import Check, Dataset, Project
from migrations_gate.runner.steps import run_driver
from migrations_gate.services import datasets, projects
from tests.migrations_gate.conftest import DRIVER_ARGV as DRIVER
from tests.migrations_gate.conftest import EXAMPLE, RULES, git

pytestmark = pytest.mark.django_db

CHECKS = "/api/v1/gate/checks/"
LABEL = "migrations_gate.Check"


@pytest.fixture
def shop(tmp_path: Path, shop_repo: Path, settings) -> Project:
    """Project `shop` (the repository above) with dataset `shop-lite`: a SQLite copy of the
    shop at its first migration, with customers and orders, anonymized."""
    settings.ASSAY_GATE_SECRET = "test-gate-secret"
    source = tmp_path / "shop-source.sqlite"
    env = {**os.environ, "ASSAY_GATE_SQLITE": str(source)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    made = run_driver(DRIVER, env=env, cwd=EXAMPLE, deadline=time.monotonic() + 120, stop_after=1)
    assert made.steps and made.steps[0].status == "ok", made.tail
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO shop_customer (id, name, email, joined) VALUES (?, ?, ?, '2020-01-01')",
            [(n, f"Customer {n}", f"c{n}@real.example") for n in range(1, 21)],
        )
        conn.executemany(
            "INSERT INTO shop_order (customer_id, total, placed, quantity) "
            "VALUES (?, ?, '2024-01-01 00:00:00', ?)",
            [(1 + n % 20, n, n) for n in range(200)],
        )
    datasets.register_dataset("shop-lite", rules=RULES, sqlite_file=str(source))
    return projects.add_project("shop", str(shop_repo), "django", target="shopsite.settings",
                                datasets=["shop-lite"])  # fmt: skip


@pytest.fixture
def shop_rows() -> Project:
    """The same project and dataset as rows only (nothing to run): for what is refused or read
    before a check runs."""
    dataset = Dataset.objects.create(name="shop-lite", kind="sqlite", path="/nowhere.sqlite",
                                     source="a test")  # fmt: skip
    project = Project.objects.create(name="shop", repository="/nowhere", kind="django",
                                     target="shopsite.settings")  # fmt: skip
    project.datasets.add(dataset)
    return project


def submit(client, body, **kwargs):
    return client.post(CHECKS, body, format="json", **kwargs)


def run(check_id: int) -> None:
    assert jobs.run_job(LABEL, check_id) == "succeeded", Check.objects.get(pk=check_id).error


# --- a check from submission to verdict ----------------------------------------------------------


def test_a_ci_submits_polls_and_reads_a_check(
    token_client, api_client, shop, settings, django_capture_on_commit_callbacks
):
    settings.ASSAY_BASE_URL = "https://assay.example.org"
    with django_capture_on_commit_callbacks() as queued:
        answer = submit(token_client, {"project": "shop", "ref": "main"})
    assert answer.status_code == 202, answer.content
    body = answer.json()
    check = Check.objects.get()
    assert body["id"] == check.pk and answer["Location"] == body["api_url"]
    assert answer["Location"] == f"http://testserver/api/v1/gate/checks/{check.pk}/"
    assert (body["project"], body["ref"], body["state"]) == ("shop", "main", "queued")
    assert body["outcome"] is None and body["datasets"] == [] and body["finished_at"] is None
    assert len(queued) == 1  # the job, queued for a worker once the row commits
    # the summary waits for the end
    early = api_client.get(f"{CHECKS}{check.pk}/summary.md")
    assert early.status_code == 409 and early.json()["error"] == "conflict"

    run(check.pk)
    polled = api_client.get(answer["Location"])
    assert polled.status_code == 200
    done = polled.json()
    assert done["state"] == JobState.SUCCEEDED and done["outcome"] == "SUCCESS", done
    assert done["commit"] == git(Path(shop.repository), "rev-parse", "main")
    (record,) = done["datasets"]
    assert record["dataset"] == "shop-lite" and record["outcome"] == "SUCCESS"
    assert [s["migration"] for s in record["steps"]] == [
        "shop.0002_note", "shop.0003_backfill_notes", "shop.0004_quantity_bigint",
    ]  # fmt: skip
    assert record["steps"][0]["wal_bytes"] is None  # SQLite is not watched
    base = f"https://assay.example.org/media/logs/migrations_gate/{check.pk}/"
    assert done["log_url"] == base + "job.log"
    assert record["log_url"] == base + "shop-lite.log"
    assert "**Migrations gate: SUCCESS** for shop at `main`" in done["summary"]
    assert done["results_run"] == f"gate-shop_{check.pk}"
    assert done["results_url"].endswith(f"/api/v1/runs/gate-shop_{check.pk}/")
    assert done["recheck_of"] is None and done["finished_at"]

    summary = api_client.get(done["summary_url"])
    assert summary.status_code == 200 and summary["Content-Type"].startswith("text/markdown")
    assert summary.content.decode() == done["summary"]
    assert api_client.get(f"{CHECKS}{check.pk}/summary.md", HTTP_ACCEPT="text/markdown").content


def test_a_broken_change_fails_and_a_recheck_checks_it_again(token_client, api_client, shop):
    first = submit(token_client, {"project": "shop", "ref": "broken"}).json()
    run(first["id"])
    bad = api_client.get(f"{CHECKS}{first['id']}/").json()
    assert bad["outcome"] == "FAILURE"
    (finding,) = bad["datasets"][0]["findings"]
    assert finding["migration"] == "shop.0005_duplicate_total"
    assert "duplicate column name: total" in finding["message"]

    answer = token_client.post(f"{CHECKS}{first['id']}/recheck/")
    assert answer.status_code == 202, answer.content
    again = answer.json()
    assert again["id"] != first["id"] and again["recheck_of"] == first["id"]
    assert answer["Location"].endswith(f"/api/v1/gate/checks/{again['id']}/")
    assert (again["ref"], again["state"]) == ("broken", "queued")
    run(again["id"])
    assert api_client.get(answer["Location"]).json()["outcome"] == "FAILURE"

    # the list, filtered as a dashboard would
    def ids(query: str) -> list[int]:
        listed = api_client.get(CHECKS + query)
        assert listed.status_code == 200, listed.content
        return [c["id"] for c in listed.json()["results"]]

    assert ids("") == [again["id"], first["id"]]
    assert ids("?project=shop&outcome=FAILURE") == [again["id"], first["id"]]
    assert ids("?outcome=SUCCESS") == [] and ids("?project=other") == []
    bad_filter = api_client.get(CHECKS + "?outcome=MAYBE")
    assert bad_filter.status_code == 400 and set(bad_filter.json()) == {"error", "detail"}


def test_a_check_that_failed_for_good_reads_as_an_internal_error(api_client, shop_rows):
    check = Check.objects.create(project=shop_rows, ref="main", state=JobState.FAILED,
                                 error="the worker broke")  # fmt: skip
    body = api_client.get(f"{CHECKS}{check.pk}/").json()
    assert body["outcome"] == "INTERNAL_ERROR" and body["error"] == "the worker broke"
    listed = api_client.get(CHECKS + "?outcome=INTERNAL_ERROR").json()["results"]
    assert [c["id"] for c in listed] == [check.pk]
    summary = api_client.get(f"{CHECKS}{check.pk}/summary.md").content.decode()
    assert summary.startswith("**Migrations gate: INTERNAL_ERROR** for shop at `main`")


# --- refused -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error", "detail"),
    [
        ({"project": "ghost", "ref": "main"}, "unknown_project", "no gated project named 'ghost'"),
        ({"project": "shop", "ref": ""}, "bad_ref", "needs a ref"),
        ({"project": "shop", "ref": "   "}, "bad_ref", "needs a ref"),
        ({"project": "shop", "ref": "--upload-pack=touch /tmp/x"}, "bad_ref", "refused ref"),
        ({"project": "shop", "ref": "main; rm -rf /"}, "bad_ref", "refused ref"),
        ({"project": "shop", "ref": "a\x00b"}, "invalid", "ref"),
        ({"project": "shop", "ref": "x" * 301}, "bad_ref", "needs a ref"),
        ({"project": "shop"}, "invalid", "ref: This field is required"),
        ({"project": ["shop"], "ref": "main"}, "invalid", "project"),
        ({"project": "shop", "ref": "main", "branch": "x"}, "unknown_field", "'branch'"),
        (["shop", "main"], "bad_request", "JSON object"),
        ("shop main", "bad_request", "JSON object"),
    ],
)
def test_bad_submissions_are_400_and_queue_nothing(
    token_client, shop_rows, body, error, detail, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        answer = submit(token_client, body)
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == error, answer.json()
    assert detail in answer.json()["detail"]
    assert not Check.objects.exists() and not queued


def test_a_project_without_datasets_is_refused(token_client, shop_rows):
    shop_rows.datasets.clear()
    answer = submit(token_client, {"project": "shop", "ref": "main"})
    assert answer.status_code == 400 and answer.json()["error"] == "no_datasets"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"project": "shop", "ref": ', "application/json"),
        (b"\xff\xfe\x00\x81binary", "application/json"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "application/octet-stream"),
        (b"project=shop&ref=main", "text/plain"),
    ],
)
def test_a_body_that_is_not_json_is_a_400(token_client, shop_rows, content, content_type):
    answer = token_client.generic("POST", CHECKS, content, content_type=content_type)
    assert answer.status_code == 400, answer.content
    assert set(answer.json()) == {"error", "detail"}
    assert not Check.objects.exists()


def test_writes_need_a_token_or_staff(api_client, shop_rows, admin_client):
    check = Check.objects.create(project=shop_rows, ref="main", state=JobState.SUCCEEDED)
    for answer in (
        submit(api_client, {"project": "shop", "ref": "main"}),
        api_client.post(f"{CHECKS}{check.pk}/recheck/"),
    ):
        assert answer.status_code in (401, 403)
        assert set(answer.json()) == {"error", "detail"}
    assert Check.objects.count() == 1
    # reads are open; a staff login may write (a person at the browsable API)
    assert api_client.get(f"{CHECKS}{check.pk}/").status_code == 200
    assert admin_client.post(f"{CHECKS}{check.pk}/recheck/").status_code == 202


def test_unknown_checks_are_404_in_the_one_shape(token_client, api_client, shop_rows):
    for answer in (
        api_client.get(f"{CHECKS}999/"),
        api_client.get(f"{CHECKS}999/summary.md"),
        token_client.post(f"{CHECKS}999/recheck/"),
    ):
        assert answer.status_code == 404, answer.content
        assert answer.json()["error"] == "not_found"


# --- datasets and projects -----------------------------------------------------------------------


def test_datasets_and_projects_are_listed_without_secrets(api_client, shop):
    (dataset,) = api_client.get("/api/v1/gate/datasets/").json()["results"]
    assert dataset["name"] == "shop-lite" and dataset["kind"] == "sqlite"
    assert dataset["rules"] == RULES and len(dataset["rules_digest"]) == 64
    assert dataset["tables"]["shop_order"] == 200 and dataset["projects"] == ["shop"]
    assert dataset["server"] is None and dataset["size_bytes"] > 0
    assert api_client.get("/api/v1/gate/datasets/shop-lite/").json()["id"] == dataset["id"]

    secret_url = "https://ci:s3cret-token@git.example.org/p.git"
    Project.objects.create(name="private", repository=secret_url, kind="sql")
    listed = {p["name"]: p for p in api_client.get("/api/v1/gate/projects/").json()["results"]}
    assert listed["shop"]["datasets"] == ["shop-lite"] and listed["shop"]["kind"] == "django"
    assert listed["shop"]["time_limit_seconds"] == 3600
    assert listed["shop"]["checks_url"].endswith("/api/v1/gate/checks/?project=shop")
    assert listed["private"]["repository"] == "https://ci:***@git.example.org/p.git"
    assert "s3cret" not in api_client.get("/api/v1/gate/projects/private/").content.decode()
    assert api_client.post("/api/v1/gate/projects/", {"name": "x"}).status_code in (401, 403, 405)
    root = api_client.get("/api/v1/gate/").json()
    assert set(root) == {"checks", "datasets", "projects"}


# --- the schema ----------------------------------------------------------------------------------


def test_the_schema_has_the_gate_paths_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS, reset_generator_stats
    from drf_spectacular.generators import SchemaGenerator

    reset_generator_stats()
    generator = SchemaGenerator(
        patterns=[path("api/v1/gate/", include("migrations_gate.api_urls"))]
    )
    schema = generator.get_schema(request=None, public=True)
    assert not dict(GENERATOR_STATS._warn_cache) and not dict(GENERATOR_STATS._error_cache)
    paths = schema["paths"]
    assert "202" in paths["/api/v1/gate/checks/"]["post"]["responses"]
    assert "202" in paths["/api/v1/gate/checks/{id}/recheck/"]["post"]["responses"]
    summary = paths["/api/v1/gate/checks/{id}/summary.md"]["get"]["responses"]["200"]
    assert "text/markdown" in summary["content"]
    for name in ("datasets/{name}/", "projects/{name}/"):
        assert f"/api/v1/gate/{name}" in paths
