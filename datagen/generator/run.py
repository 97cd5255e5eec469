"""Generate-and-write for one chunk, and for a list of chunks on several processes: what a job
runner (the Django app's task, the CLI, the benchmark) calls."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .checksum import dataset_checksum
from .generate import generate_chunk
from .spec import Spec
from .writers import WrittenFile, write_chunk


@dataclass(frozen=True)
class ChunkResult:
    """What is left of a chunk once its files are written (no data: cheap to pass around)."""

    chunk_id: int
    rows: dict[str, int]
    checksum: str
    table_checksums: dict[str, str]
    files: list[WrittenFile]

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files)


def run_chunk(
    spec: Spec,
    chunk_id: int,
    run_seed: int,
    out_dir: str | Path,
    format: str = "parquet",
    *,
    tables: Iterable[str] | None = None,
    fsync: bool = True,
) -> ChunkResult:
    """Generate the chunk and write its tables (all, or only `tables`)."""
    data = generate_chunk(spec, chunk_id, run_seed)
    files = write_chunk(data, out_dir, format, tables=tables, fsync=fsync)
    return ChunkResult(data.chunk_id, data.rows, data.checksum, data.table_checksums, files)


_worker_spec: Spec | None = None


def _init_worker(spec: Spec) -> None:
    global _worker_spec
    _worker_spec = spec
    import pyarrow as pa

    pa.set_cpu_count(1)  # one core per process: parallelism comes from the processes


def _run_in_worker(args: tuple[int, int, str, str, bool]) -> ChunkResult:
    chunk_id, run_seed, out_dir, format, fsync = args
    assert _worker_spec is not None
    return run_chunk(_worker_spec, chunk_id, run_seed, out_dir, format, fsync=fsync)


class ChunkPool:
    """Worker processes that generate and write chunks; start once, run many batches.
    Processes are spawned, not forked: Arrow's threads do not survive a fork."""

    def __init__(self, spec: Spec, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(workers, initializer=_init_worker, initargs=(spec,))

    def run(
        self,
        chunk_ids: Iterable[int],
        run_seed: int,
        out_dir: str | Path,
        format: str = "parquet",
        *,
        fsync: bool = True,
    ) -> Iterator[ChunkResult]:
        """Results in the order chunks finish."""
        tasks = [(c, run_seed, str(out_dir), format, fsync) for c in chunk_ids]
        return self._pool.imap_unordered(_run_in_worker, tasks)

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def __enter__(self) -> ChunkPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.terminate() if exc_info[0] else self.close()


def run_chunks(
    spec: Spec,
    chunk_ids: Iterable[int],
    run_seed: int,
    out_dir: str | Path,
    format: str = "parquet",
    *,
    workers: int = 1,
    fsync: bool = True,
) -> Iterator[ChunkResult]:
    """Chunks in the order they finish: in this process with workers <= 1, else on a ChunkPool
    (any order then; the dataset checksum does not depend on it)."""
    if workers <= 1:
        for chunk_id in chunk_ids:
            yield run_chunk(spec, chunk_id, run_seed, out_dir, format, fsync=fsync)
        return
    with ChunkPool(spec, workers) as pool:
        yield from pool.run(chunk_ids, run_seed, out_dir, format, fsync=fsync)


def summarize(results: Iterable[ChunkResult]) -> tuple[dict[str, int], str]:
    """Rows per table and the dataset checksum of finished chunks."""
    rows: dict[str, int] = {}
    pairs = []
    for result in results:
        pairs.append((result.chunk_id, result.checksum))
        for table, count in result.rows.items():
            rows[table] = rows.get(table, 0) + count
    return rows, dataset_checksum(pairs)
