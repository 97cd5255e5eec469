"""Working a run's chunks in this process (the CLI's `datagen run` and `datagen work`),
side by side with any qcluster: every chunk is claimed through the same lease."""

from __future__ import annotations

import random
from collections.abc import Callable

from core import jobs
from core.models import JobState
from datagen.models import DatagenRun

CHUNK_LABEL = "datagen.Chunk"
RUN_LABEL = "datagen.DatagenRun"


def work_run(run: DatagenRun, on_chunk: Callable[[str], None] | None = None) -> dict[str, int]:
    """Set the run up if nobody has, then claim and work queued chunks until none is left.
    Returns how many chunk attempts ended in each outcome (succeeded, retry, failed, ...)."""
    outcomes: dict[str, int] = {}
    run.refresh_from_db()
    if run.state == JobState.QUEUED or (run.state == JobState.RUNNING and run.lease_expired):
        jobs.run_job(RUN_LABEL, run.pk)
        run.refresh_from_db()
    if run.state != JobState.SUCCEEDED:
        return outcomes
    while True:
        # A random pick among the first few: several workers rarely reach for the same row.
        pks = list(run.chunk_rows.filter(state=JobState.QUEUED).values_list("pk", flat=True)[:64])
        if not pks:
            return outcomes
        outcome = jobs.run_job(CHUNK_LABEL, random.choice(pks))  # noqa: S311 (not a secret)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if on_chunk is not None:
            on_chunk(outcome)
