"""LSST dax_data_generator's chunk logs (`target.clg`, `assigned.clg`, `completed.clg`,
`limbo.clg`: one chunk number per line), out of a run and into a new one, so a run can move
between the two tools."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from core import jobs
from core.exceptions import AssayError
from core.models import JobState
from datagen.models import Chunk, DatagenRun
from datagen.selectors import chunk_log_sets
from datagen.services.runs import _new_run

if TYPE_CHECKING:
    from datagen.generator import Spec

LOG_NAMES = ("target", "assigned", "completed", "limbo")
MAX_LOG_BYTES = 10 * 1024 * 1024
LIMBO_IMPORTED = "in limbo.clg of the imported chunk logs"


def export_logs(run: DatagenRun, folder: str | Path) -> dict[str, int]:
    """Write the four logs into `folder` (created); returns how many chunks each holds."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AssayError(f"Cannot create {folder}: {exc}") from None
    sets = chunk_log_sets(run)
    for name in LOG_NAMES:
        text = "".join(f"{chunk_id}\n" for chunk_id in sets[name])
        # Aside, then renamed: a reader never sees half a log.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text)
        os.replace(tmp, folder / f"{name}.clg")
    return {name: len(sets[name]) for name in LOG_NAMES}


def read_log(path: Path) -> list[int]:
    """Chunk numbers of one .clg file; blank lines are skipped, anything else is an error
    naming the file and line."""
    try:
        if path.stat().st_size > MAX_LOG_BYTES:
            raise AssayError(f"{path.name}: larger than {MAX_LOG_BYTES} bytes.", code="bad_log")
        raw = path.read_bytes()
    except OSError as exc:
        raise AssayError(f"Cannot read {path}: {exc.strerror}.", code="bad_log") from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise AssayError(
            f"{path.name}: not a chunk log (binary or non-ASCII).", code="bad_log"
        ) from None
    ids = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if not line.isdigit():
            raise AssayError(
                f"{path.name}:{n}: {line[:40]!r} is not a chunk number.", code="bad_log"
            )
        ids.append(int(line))
    return ids


def _selection(spec: Spec, ids: list[int]) -> str:
    """The chunk ids as ranges over the chunker's own order (sky chunk ids are sparse, but a
    stripe's chunks are consecutive), short enough to store and read."""
    position = {c: i for i, c in enumerate(spec.chunk_ids())}
    parts, start, prev = [], None, None
    for chunk_id in sorted(ids):
        if prev is not None and position[chunk_id] == position[prev] + 1:
            prev = chunk_id
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = chunk_id
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(parts)


def import_logs(folder: str | Path, spec: Spec, **options) -> DatagenRun:
    """A new run from another tool's logs: the chunks of target.clg; those in completed.clg are
    completed (not generated again), those in limbo.clg wait in limbo for `resume`, the rest
    (assigned or not) are queued. `options` are submit_run's."""
    folder = Path(folder)
    if not (folder / "target.clg").is_file():
        raise AssayError(f"No target.clg in {folder}.", code="bad_log")
    logs = {
        n: read_log(folder / f"{n}.clg") if (folder / f"{n}.clg").is_file() else []
        for n in LOG_NAMES
    }
    target = set(logs["target"])
    if not target:
        raise AssayError("target.clg names no chunk.", code="bad_log")
    bad = sorted(c for c in target if not spec.chunker.is_chunk(c))
    if bad:
        raise AssayError(
            f"target.clg: {bad[:5]} not chunk ids of the spec {spec.name}.", code="bad_log"
        )
    for name in ("assigned", "completed", "limbo"):
        stray = sorted(set(logs[name]) - target)
        if stray:
            raise AssayError(f"{name}.clg: {stray[:5]} not in target.clg.", code="bad_log")
    completed = set(logs["completed"])
    limbo = set(logs["limbo"]) - completed  # LSST's limbo log lags: completed wins
    run, ids = _new_run(spec, chunks=_selection(spec, sorted(target)), **options)
    now = timezone.now()
    with transaction.atomic():
        run.state = JobState.QUEUED
        run.save()
        Chunk.objects.bulk_create(
            [
                Chunk(
                    run=run,
                    chunk_id=c,
                    max_attempts=run.chunk_attempts,
                    state=(
                        JobState.SUCCEEDED
                        if c in completed
                        else JobState.FAILED
                        if c in limbo
                        else JobState.QUEUED
                    ),
                    finished_at=now if c in completed or c in limbo else None,
                    error=LIMBO_IMPORTED if c in limbo else "",
                )
                for c in ids
            ],
            batch_size=1000,
        )
        jobs.enqueue(run)  # the setup queues the chunks left to do
    run.log(
        f"imported chunk logs from {folder}: {len(target)} chunks, {len(completed)} completed, "
        f"{len(limbo)} in limbo"
    )
    return run
