"""The datagen REST API: submit (202 + Location, or 400 and nothing created), progress, chunks,
resume, bundled specs, schema."""

from __future__ import annotations

import pytest
from django_q.models import OrmQ

from core import jobs
from core.models import Engine
from datagen.models import Chunk, DatagenRun
from tests.datagen.generator.factories import two_tables

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _datagen_root(settings, tmp_path):
    settings.ASSAY_DATAGEN_ROOT = tmp_path / "datagen"


def submit(client, body, **kwargs):
    return client.post("/api/v1/datagen/runs/", body, format="json", **kwargs)


@pytest.mark.db_dependent
def test_submit_runs_and_reads_progress_and_chunks(
    token_client, api_client, tmp_path, django_capture_on_commit_callbacks
):
    answer = submit(token_client, {"spec": two_tables(), "seed": 11, "chunks": "0-3"})
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert answer["Location"].endswith(f"/api/v1/datagen/runs/{body['id']}/")
    assert body["chunk_count"] == 4 and body["seed"] == 11
    assert body["progress"]["phase"] == "queued" and body["progress"]["counts"]["target"] == 4

    run = DatagenRun.objects.get(pk=body["id"])
    with django_capture_on_commit_callbacks(execute=True):
        jobs.run_job("datagen.DatagenRun", run.pk)
    pks = list(Chunk.objects.filter(run=run).values_list("pk", flat=True))
    for pk in pks[:3]:
        assert jobs.run_job("datagen.Chunk", pk) == "succeeded"

    detail = api_client.get(f"/api/v1/datagen/runs/{run.pk}/").json()
    progress = detail["progress"]
    assert progress["phase"] == "generating" and progress["counts"]["completed"] == 3
    assert progress["counts"]["target"] == 1 and progress["percent"] == 75.0
    assert progress["rows"] > 0 and progress["seconds_left"] is not None
    chunks = api_client.get(f"/api/v1/datagen/runs/{run.pk}/chunks/").json()
    assert [c["state"] for c in chunks["results"]] == ["completed"] * 3 + ["target"]
    assert chunks["results"][0]["table_rows"] == {"Parent": 50, "Child": 200}
    targets = api_client.get(f"/api/v1/datagen/runs/{run.pk}/chunks/?state=target").json()
    assert [c["chunk_id"] for c in targets["results"]] == [3]
    assert (tmp_path / "datagen" / str(run.pk) / "Parent" / "chunk_0.parquet").exists()

    jobs.run_job("datagen.Chunk", pks[3])
    done = api_client.get(f"/api/v1/datagen/runs/{run.pk}/").json()
    assert done["progress"]["phase"] == "finished" and done["results_run"]
    assert done["results_url"].endswith(f"/api/v1/runs/{done['results_run']}/")
    listed = api_client.get("/api/v1/datagen/runs/?spec_name=t").json()
    assert [r["id"] for r in listed["results"]] == [run.pk]


@pytest.mark.parametrize(
    ("body", "error", "detail"),
    [
        ({"spec": "fakdb"}, "bad_spec", "no bundled spec 'fakdb'"),
        ({"spec": {"name": "x", "tables": {}}}, "bad_spec", "Bad spec"),
        ({"spec": 5}, "bad_spec", "bundled spec"),
        ({}, "invalid", "spec: This field is required"),
        ({"spec": "querygen", "chunks": "9"}, "bad_chunks", "not a chunk id"),
        ({"spec": "querygen", "seed": -3}, "invalid", "seed"),
        ({"spec": "querygen", "output_format": "xml"}, "invalid", "output_format"),
        ({"spec": "querygen", "load_engine": "ghost"}, "engine_not_found", "ghost"),
        ({"spec": "querygen", "output_dir": "/etc"}, "unknown_field", "output_dir"),
        ({"spec": "querygen", "chunk_attempts": 99}, "invalid", "chunk_attempts"),
        (["spec"], "bad_request", "JSON object"),
    ],
)
def test_bad_submissions_are_400_and_create_nothing(token_client, body, error, detail):
    answer = submit(token_client, body)
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == error and detail in answer.json()["detail"]
    assert not DatagenRun.objects.exists() and not OrmQ.objects.exists()


def test_malformed_json_is_a_400(token_client):
    answer = token_client.post(
        "/api/v1/datagen/runs/", b'{"spec": "querygen"', content_type="application/json"
    )
    assert answer.status_code == 400 and answer.json()["error"] == "parse_error"


def test_writes_need_a_token(api_client):
    answer = submit(api_client, {"spec": "querygen"})
    assert answer.status_code in (401, 403)
    assert not DatagenRun.objects.exists()
    resume = api_client.post("/api/v1/datagen/runs/1/resume/")
    assert resume.status_code in (401, 403)


def test_resume_requeues_what_is_not_completed(token_client, django_capture_on_commit_callbacks):
    run_id = submit(token_client, {"spec": "querygen", "chunks": "0-1", "seed": 1}).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        jobs.run_job("datagen.DatagenRun", run_id)
    first = Chunk.objects.filter(run_id=run_id).order_by("chunk_id").first()
    jobs.run_job("datagen.Chunk", first.pk)
    answer = token_client.post(f"/api/v1/datagen/runs/{run_id}/resume/")
    assert answer.status_code == 202
    assert answer.json() == {
        "requeued": 1,
        "left_running": 0,
        "completed": 1,
        "setup_requeued": False,
    }


def test_unknown_run_and_state_filter(api_client, token_client):
    assert api_client.get("/api/v1/datagen/runs/999/").status_code == 404
    run_id = submit(token_client, {"spec": "querygen", "chunks": "0"}).json()["id"]
    bad = api_client.get(f"/api/v1/datagen/runs/{run_id}/chunks/?state=done")
    assert bad.status_code == 400 and "target, assigned, completed, limbo" in bad.json()["detail"]


def test_load_engine_by_name(token_client, tmp_path):
    Engine.objects.create(name="ref", kind="duckdb", path=str(tmp_path / "ref.duckdb"))
    body = submit(
        token_client, {"spec": "querygen", "load_engine": "ref", "output_format": "none"}
    ).json()
    assert body["load_engine"] == "ref" and body["output_format"] == "none"


def test_specs_and_schema(api_client):
    specs = {s["name"]: s for s in api_client.get("/api/v1/datagen/specs/").json()["specs"]}
    assert specs["fakedb"]["chunks"] == 8983
    assert specs["fakedb"]["tables"] == ["Object", "CcdVisit", "ForcedSource"]
    schema = api_client.get("/api/schema/?format=json").json()
    assert "202" in schema["paths"]["/api/v1/datagen/runs/"]["post"]["responses"]
    assert "/api/v1/datagen/runs/{id}/chunks/" in schema["paths"]
