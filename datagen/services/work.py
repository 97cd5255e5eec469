"""Working a run's chunks in this process (the CLI's `datagen run` and `datagen work`),
side by side with any qcluster: every chunk is claimed through the same lease."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from django.utils import timezone

from core import jobs
from core.models import JobState
from datagen.models import Chunk, DatagenRun
from datagen.services import runs

CHUNK_LABEL = "datagen.Chunk"
RUN_LABEL = "datagen.DatagenRun"
WAIT_SECONDS = 1.0


def held_chunks(run: DatagenRun) -> list[str]:
    """What the run waits for when nothing is left to take: each chunk another worker holds,
    by whom, and when its lease gives it back (one line each)."""
    lines = []
    now = timezone.now()
    for chunk in run.chunk_rows.filter(state=JobState.RUNNING).order_by("chunk_id")[:5]:
        if jobs.worker_is_dead(chunk.worker):
            until = "its worker is gone: queued again now"
        elif chunk.lease_expires_at is None:
            until = "no lease"
        else:
            seconds = max(0, round((chunk.lease_expires_at - now).total_seconds()))
            until = f"until it finishes or its lease expires in {seconds} s"
        lines.append(f"chunk {chunk.chunk_id} held by {chunk.worker}, {until}")
    return lines


def work_run(
    run: DatagenRun,
    on_chunk: Callable[[str], None] | None = None,
    on_wait: Callable[[list[str]], None] | None = None,
) -> dict[str, int]:
    """Set the run up if nobody has, then claim and work queued chunks until every chunk is
    finished. A chunk held by a worker that died (on this host) comes back at once, one held
    by a worker that stopped answering when its lease expires, and this process takes it: it
    never waits on a dead worker's lease alone. `on_wait` hears what it waits for. Returns
    how many chunk attempts ended in each outcome (succeeded, retry, failed, ...)."""
    outcomes: dict[str, int] = {}
    while True:
        run.refresh_from_db()
        if run.state == JobState.RUNNING:
            jobs.release_stale(DatagenRun.objects.filter(pk=run.pk))
            run.refresh_from_db()
        if run.state == JobState.QUEUED:
            jobs.run_job(RUN_LABEL, run.pk)
            continue
        if run.state != JobState.SUCCEEDED:
            if run.state == JobState.FAILED:
                return outcomes
            if on_wait is not None:
                on_wait([f"the run's setup, held by {run.worker}"])
            time.sleep(WAIT_SECONDS)
            continue
        # A random pick among the first few: several workers rarely reach for the same row.
        pks = list(run.chunk_rows.filter(state=JobState.QUEUED).values_list("pk", flat=True)[:64])
        if pks:
            outcome = jobs.run_job(CHUNK_LABEL, random.choice(pks))  # noqa: S311 (not a secret)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if on_chunk is not None:
                on_chunk(outcome)
            continue
        if not run.chunk_rows.filter(state=JobState.RUNNING).exists():
            # Usually the last chunk's worker did it; not when it died in between.
            runs.finish_run_if_done(run.pk)
            return outcomes
        if jobs.release_stale(Chunk.objects.filter(run=run)):
            continue
        if on_wait is not None:
            on_wait(held_chunks(run))
        time.sleep(WAIT_SECONDS)
