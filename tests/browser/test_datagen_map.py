"""A datagen run's chunk map in a real browser: it follows the run while chunks complete,
without a reload, and stops once the run is finished. Screenshots go to
test-output/screenshots/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

import datagen.generator as generator  # the chunk service finds write_chunk there
from core import jobs
from core.models import JobState
from datagen.generator import parse_spec
from datagen.models import Chunk
from datagen.services import runs
from tests.datagen.generator.factories import two_tables

# The live server is another thread: the test's writes must be committed for it to see them.
pytestmark = [pytest.mark.django_db(transaction=True)]

LIMBO_CHUNK = 6


def _cell(page, chunk_id: int):
    return page.locator(f'.chunkmap .cell[data-chunk="{chunk_id}"]')


def test_the_chunk_map_follows_the_run_without_a_reload(page, live_server, tmp_path, monkeypatch):
    real_write = generator.write_chunk

    def write_chunk(data, *args, **kwargs):
        if data.chunk_id == LIMBO_CHUNK:
            raise OSError(f"No space left on device (chunk {data.chunk_id})")
        return real_write(data, *args, **kwargs)

    monkeypatch.setattr(generator, "write_chunk", write_chunk)
    run = runs.submit_run(
        parse_spec(two_tables()), seed=11, output_dir=str(tmp_path / "out"), chunk_attempts=2
    )
    assert jobs.run_job("datagen.DatagenRun", run.pk) == "succeeded"
    pks = dict(Chunk.objects.filter(run=run).values_list("chunk_id", "pk"))
    assert jobs.run_job("datagen.Chunk", pks[0]) == "succeeded"

    page.goto(f"{live_server.url}/datagen/runs/{run.pk}/")
    expect(page.locator('[data-field="phase"]')).to_have_text("generating")
    expect(_cell(page, 0)).to_have_class("cell s-completed")
    expect(_cell(page, 1)).to_have_class("cell s-target")
    expect(page.locator('[data-count="target"]')).to_have_text("7")
    page.evaluate("window.notReloaded = true")  # a reload would lose it
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "progress.json" in r.url else None)

    # Chunks 1-3 complete and a worker takes chunk 4: the map and counts follow.
    for chunk_id in (1, 2, 3):
        assert jobs.run_job("datagen.Chunk", pks[chunk_id]) == "succeeded"
    jobs.claim(Chunk, pks[4], jobs.worker_id())
    expect(_cell(page, 3)).to_have_class("cell s-completed")
    expect(_cell(page, 4)).to_have_class("cell s-assigned")
    expect(_cell(page, 4)).to_have_attribute("title", "chunk 4: assigned")
    expect(page.locator('[data-count="completed"]')).to_have_text("4")
    expect(page.locator('[data-count="assigned"]')).to_have_text("1")
    expect(page.locator('[data-count="target"]')).to_have_text("3")
    expect(page.locator('[data-field="done"]')).to_have_text("4 of 8 chunks")
    expect(page.locator('[data-field="rate"]')).to_have_text(re.compile(r"^\d[\d,]* rows/s$"))
    page.shot("generating")

    # The rest: chunk 4's worker dies and its lease runs out; chunk 6 fails twice (limbo).
    Chunk.objects.filter(pk=pks[4]).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert jobs.run_job("datagen.Chunk", pks[4]) == "succeeded"
    assert [jobs.run_job("datagen.Chunk", pks[LIMBO_CHUNK]) for _ in range(2)] == [
        "retry",
        "failed",
    ]
    for chunk_id in (5, 7):
        assert jobs.run_job("datagen.Chunk", pks[chunk_id]) == "succeeded"
    assert Chunk.objects.filter(run=run, state=JobState.FAILED).count() == 1

    expect(page.locator('[data-field="phase"]')).to_have_text("finished with limbo")
    expect(_cell(page, LIMBO_CHUNK)).to_have_class("cell s-limbo")
    expect(_cell(page, LIMBO_CHUNK)).to_have_attribute("title", f"chunk {LIMBO_CHUNK}: limbo")
    expect(page.locator(".chunkmap .cell.s-completed")).to_have_count(7)
    expect(page.locator('[data-count="limbo"]')).to_have_text("1")
    expect(page.locator('[data-field="time_left"]')).to_have_text("none (finished)")
    expect(page.locator("[data-when-finished]")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    assert polls, "the page never asked for progress"
    # Finished: the page stops asking.
    asked = len(polls)
    page.wait_for_timeout(2500)
    assert len(polls) == asked

    # The errors of limbo chunks and the results run are on the page once it is reloaded.
    assert page.locator(".card.limbo").count() == 0
    page.reload()
    limbo = page.locator(".card.limbo")
    expect(limbo).to_contain_text(f"OSError: No space left on device (chunk {LIMBO_CHUNK})")
    run.refresh_from_db()
    expect(page.get_by_role("link", name=run.results_run)).to_be_visible()
    page.shot("finished-with-limbo")
