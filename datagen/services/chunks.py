"""Working one chunk: generate, write, load. Run as Chunk's job (datagen.tasks) under the core
runner's lease; what it returns lands on the chunk row in the same UPDATE as its completed state."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from core import jobs
from datagen.models import Chunk, DatagenRun
from datagen.services.engines import target_for

if TYPE_CHECKING:  # the generator (numpy, pyarrow) loads when used (a test of import_results)
    from datagen.generator import Spec

_specs: OrderedDict[tuple[int, str], Spec] = OrderedDict()
_specs_lock = threading.Lock()


def spec_of(run: DatagenRun) -> Spec:
    """The run's parsed spec, kept per process: a worker parses each run's spec once."""
    key = (run.pk, str(run.key))
    with _specs_lock:
        spec = _specs.get(key)
        if spec is not None:
            _specs.move_to_end(key)
            return spec
    from datagen.generator import parse_spec

    spec = parse_spec(run.spec, name=run.spec_name)
    with _specs_lock:
        _specs[key] = spec
        while len(_specs) > 16:
            _specs.popitem(last=False)
    return spec


def work_chunk(chunk: Chunk) -> dict:
    """Generate the chunk and put it where the run wants it. Safe to run twice: files are
    rewritten with the same bytes (written aside, renamed into place), and a load is recorded in
    the target's ledger in the same transaction as its rows, so a second delivery loads nothing."""
    from datagen.generator import generate_chunk, write_chunk
    from datagen.generator.loaders import load_chunk

    run = DatagenRun.objects.select_related("load_engine").get(pk=chunk.run_id)
    spec = spec_of(run)
    data = generate_chunk(spec, chunk.chunk_id, run.seed)
    # A heartbeat before the effects: a worker that lost its lease stops here (LeaseLost).
    jobs.heartbeat(chunk, 0, 1, f"generated {data.total_rows} rows")
    files = []
    if run.output_path is not None:
        files = write_chunk(data, run.output_path, run.output_format)
    if run.load_engine is not None:
        loaded = load_chunk(
            target_for(run.load_engine),
            spec.name,
            str(run.key),
            chunk.chunk_id,
            data.tables,
            checksum=data.checksum,
        )
        if not loaded.loaded:
            chunk.log("already in the load target's ledger: nothing loaded again")
    return {
        "rows": data.total_rows,
        "bytes": sum(f.bytes for f in files),
        "checksum": data.checksum,
        "table_rows": data.rows,
        "progress_done": 1,
        "progress_message": "completed",
    }
