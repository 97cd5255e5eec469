"""Read paths of datagen shared by the API, the pages and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from core.models import JobState
from datagen.models import LSST_STATES, Chunk, DatagenRun
from datagen.services.chunks import spec_of

# One letter per chunk in the compact state string the chunk map refreshes from.
STATE_LETTERS = {"target": "t", "assigned": "a", "completed": "c", "limbo": "l"}
LIMBO_SHOWN = 50


@dataclass
class RunProgress:
    phase: str
    counts: dict[str, int]  # by LSST state name
    total: int
    rows: int
    bytes: int
    started_at: datetime | None
    elapsed_seconds: float
    rows_per_second: float | None
    seconds_left: float | None
    limbo: list[tuple[int, str]] = field(default_factory=list)  # (chunk id, error), the first few

    @property
    def done(self) -> int:
        return self.counts["completed"] + self.counts["limbo"]

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0

    @property
    def finished(self) -> bool:
        return self.phase in ("finished", "finished with limbo", "setup failed")


def phase(run: DatagenRun, counts: dict[str, int]) -> str:
    if run.state == JobState.QUEUED:
        return "queued"
    if run.state == JobState.RUNNING:
        return "setting up"
    if run.state == JobState.FAILED:
        return "setup failed"
    if run.completed_at is None:
        return "generating"
    return "finished with limbo" if counts.get("limbo") else "finished"


def run_progress(run: DatagenRun) -> RunProgress:
    """Counts per state, rows and bytes, speed and time left: three aggregate queries."""
    chunks = Chunk.objects.filter(run=run)
    by_state = dict(chunks.values_list("state").annotate(n=Count("pk")).order_by())
    counts = {name: by_state.get(state, 0) for state, name in LSST_STATES.items()}
    # Chunks not created yet (before setup) are targets all the same.
    counts["target"] += max(0, run.chunk_count - sum(by_state.values()))
    done = chunks.filter(state=JobState.SUCCEEDED).aggregate(
        rows=Sum("rows"), bytes=Sum("bytes"), first=Min("started_at"), last=Max("finished_at")
    )
    started = chunks.aggregate(first=Min("started_at"))["first"]
    end = run.completed_at or timezone.now()
    if run.completed_at and done["last"]:
        end = done["last"]
    elapsed = (end - started).total_seconds() if started else 0.0
    rows = done["rows"] or 0
    finished_chunks = counts["completed"] + counts["limbo"]
    left = counts["target"] + counts["assigned"]
    rate = rows / elapsed if elapsed > 0 and rows else None
    seconds_left = None
    if left and finished_chunks and elapsed > 0:
        seconds_left = elapsed / finished_chunks * left
    limbo = list(
        chunks.filter(state=JobState.FAILED)
        .order_by("chunk_id")
        .values_list("chunk_id", "error")[:LIMBO_SHOWN]
    )
    return RunProgress(
        phase=phase(run, counts),
        counts=counts,
        total=run.chunk_count,
        rows=rows,
        bytes=done["bytes"] or 0,
        started_at=started,
        elapsed_seconds=elapsed,
        rows_per_second=rate,
        seconds_left=seconds_left if left else 0.0,
        limbo=limbo,
    )


def chunk_states(run: DatagenRun) -> tuple[list[int], str]:
    """(chunk ids, one letter per chunk): the whole map in a few kilobytes for 9,000 chunks.
    Before the setup made the rows, the chunks the run will have, all targets."""
    ids, letters = [], []
    for chunk_id, state in Chunk.objects.filter(run=run).values_list("chunk_id", "state"):
        ids.append(chunk_id)
        letters.append(STATE_LETTERS[LSST_STATES[state]])
    if not ids:
        from datagen.generator import select_chunks  # numpy: loaded when used

        ids = select_chunks(spec_of(run).chunker, run.chunks)
        return ids, "t" * len(ids)
    return ids, "".join(letters)


def list_progress(runs: list[DatagenRun]) -> dict[int, RunProgress]:
    """Counts and rows of many runs (a page of the run list) in two grouped queries."""
    pks = [run.pk for run in runs]
    by_state: dict[int, dict[str, int]] = {pk: {} for pk in pks}
    for run_id, state, n in (
        Chunk.objects.filter(run_id__in=pks).values_list("run_id", "state").annotate(Count("pk"))
    ):
        by_state[run_id][state] = n
    rows = dict(
        Chunk.objects.filter(run_id__in=pks, state=JobState.SUCCEEDED)
        .values_list("run_id")
        .annotate(Sum("rows"))
    )
    out = {}
    for run in runs:
        counts = {name: by_state[run.pk].get(state, 0) for state, name in LSST_STATES.items()}
        counts["target"] += max(0, run.chunk_count - sum(by_state[run.pk].values()))
        out[run.pk] = RunProgress(
            phase=phase(run, counts),
            counts=counts,
            total=run.chunk_count,
            rows=rows.get(run.pk) or 0,
            bytes=0,
            started_at=run.started_at,
            elapsed_seconds=0.0,
            rows_per_second=None,
            seconds_left=None,
        )
    return out


@dataclass
class MapRow:
    label: str
    chunk_ids: list[int]


def chunk_map_rows(run: DatagenRun, ids: list[int], width: int = 40) -> list[MapRow]:
    """The grid's rows: one per declination stripe for a sky chunker (chunks in right
    ascension order, as on the sky), rows of `width` chunks otherwise."""
    from datagen.generator import SkyChunker  # numpy: loaded when used

    chunker = spec_of(run).chunker
    if isinstance(chunker, SkyChunker):
        stripes: dict[int, list[int]] = {}
        for chunk_id in sorted(ids, key=chunker.stripe_of_chunk):
            stripes.setdefault(chunker.stripe_of_chunk(chunk_id)[0], []).append(chunk_id)
        return [MapRow(f"stripe {s}", c) for s, c in sorted(stripes.items(), reverse=True)]
    ordered = sorted(ids)
    return [
        MapRow(f"{ordered[i]}–{ordered[min(i + width, len(ordered)) - 1]}", ordered[i : i + width])
        for i in range(0, len(ordered), width)
    ]


def chunk_log_sets(run: DatagenRun) -> dict[str, list[int]]:
    """LSST's four chunk logs: target (all chunks), assigned (ever handed to a worker),
    completed and limbo."""
    rows = list(Chunk.objects.filter(run=run).values_list("chunk_id", "state", "attempts"))
    return {
        "target": sorted(c for c, _, _ in rows),
        "assigned": sorted(c for c, s, a in rows if a > 0 or s != JobState.QUEUED),
        "completed": sorted(c for c, s, _ in rows if s == JobState.SUCCEEDED),
        "limbo": sorted(c for c, s, _ in rows if s == JobState.FAILED),
    }
