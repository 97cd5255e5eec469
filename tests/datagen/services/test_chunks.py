"""Working a chunk (datagen.services.chunks) under the core runner's lease: a second
delivery loads nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core import jobs
from core.models import JobState
from datagen.generator.loaders import Target, row_counts
from datagen.models import Chunk
from datagen.services import runs
from datagen.services.chunks import work_chunk
from tests.datagen.services.factories import set_up

pytestmark = pytest.mark.django_db


@pytest.mark.db_dependent
def test_a_chunk_whose_worker_died_after_loading_is_not_loaded_twice(
    spec, engine, tmp_path, django_capture_on_commit_callbacks
):
    run = runs.submit_run(spec, seed=3, chunks="0-1", output_format="none", load_engine="target")
    first, second = set_up(run, django_capture_on_commit_callbacks)
    # A worker claims chunk 0, loads it, and dies before it can mark the chunk completed.
    chunk = jobs.claim(Chunk, first, "dead-worker")
    work_chunk(chunk)  # what the registered job does
    loaded = row_counts(Target.sqlite(engine.path))
    Chunk.objects.filter(pk=first).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.reap_jobs() == 1
    assert jobs.run_job("datagen.Chunk", first) == "succeeded"
    assert row_counts(Target.sqlite(engine.path)) == loaded  # the ledger held it
    # the dead worker wakes up: its finish is fenced off
    assert not jobs._finish(chunk, JobState.SUCCEEDED)
    assert jobs.run_job("datagen.Chunk", second) == "succeeded"
    done = Chunk.objects.get(pk=first)
    assert done.state == JobState.SUCCEEDED and done.attempts == 2 and done.rows
