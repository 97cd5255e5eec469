"""The admin pages of runs and chunks, and the resume action."""

from __future__ import annotations

import pytest

from core import jobs
from core.models import JobState
from datagen.models import Chunk, DatagenRun
from datagen.services import runs

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(tmp_path, django_capture_on_commit_callbacks) -> DatagenRun:
    run = runs.submit_run(runs.resolve_spec("querygen"), seed=1, output_dir=str(tmp_path))
    with django_capture_on_commit_callbacks(execute=True):
        jobs.run_job("datagen.DatagenRun", run.pk)
    return run


def test_lists_and_pages_render(admin_client, run):
    listing = admin_client.get("/admin/datagen/datagenrun/").content.decode()
    assert "querygen" in listing and "generating" in listing
    assert f"/datagen/runs/{run.pk}/" in listing
    assert admin_client.get(f"/admin/datagen/datagenrun/{run.pk}/change/").status_code == 200
    chunks = admin_client.get("/admin/datagen/chunk/?state__exact=queued").content.decode()
    assert chunks.count("target") >= 4
    assert admin_client.get("/admin/datagen/datagenrun/add/").status_code == 403


def test_resume_action_requeues_limbo_chunks(admin_client, run):
    Chunk.objects.filter(run=run, chunk_id=2).update(state=JobState.FAILED, error="disk full")
    answer = admin_client.post(
        "/admin/datagen/datagenrun/",
        {"action": "resume", "_selected_action": [run.pk]},
        follow=True,
    )
    assert b"4 chunk(s) queued again" in answer.content
    assert not Chunk.objects.filter(run=run, state=JobState.FAILED).exists()
