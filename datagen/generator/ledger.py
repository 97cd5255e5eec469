"""The chunk ledger: each target records the chunks loaded into it, so a chunk is loaded once.

The ledger table (``dbkinds.LEDGER_TABLE``, assay_loaded_chunks) lives in the target and is
written in the same transaction as the chunk's rows. It is bookkeeping, not data: dbkinds
leaves it out of every table listing, so it is never counted, copied or queried.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

import pyarrow as pa

from datagen.generator.bulk import DRIVER_ERRORS, connected, failed, quote
from datagen.generator.sqltypes import normalize_table, slices
from datagen.generator.targets import Target, check_names
from dbkinds import LEDGER_TABLE

_LEDGER = quote(LEDGER_TABLE)
_LEDGER_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_LEDGER} ("
    "dataset VARCHAR(200) NOT NULL, run VARCHAR(200) NOT NULL, chunk_id BIGINT NOT NULL, "
    "rows BIGINT NOT NULL, checksum VARCHAR(64) NOT NULL, PRIMARY KEY (run, chunk_id))"
)


@dataclasses.dataclass(frozen=True)
class ChunkLoad:
    loaded: bool
    """False when the ledger already held the chunk: a second delivery, nothing written."""
    rows: dict[str, int]
    seconds: float


def load_chunk(
    target: Target,
    dataset: str,
    run: str,
    chunk_id: int,
    tables: Mapping[str, pa.Table],
    *,
    checksum: str = "",
) -> ChunkLoad:
    """Load every table of one chunk in one transaction, at most once per (run, chunk).

    The ledger table ``assay_loaded_chunks`` in the target records (dataset, run, chunk_id,
    rows, checksum) in the same transaction as the rows: a chunk delivered twice (a worker that
    died after the commit, a duplicate task) finds its ledger row and writes nothing, and two
    deliveries at once serialize on the ledger's primary key. Tables need no chunk column.
    """
    check_names(target.kind, list(tables), "tables")
    prepared = {name: normalize_table(t) for name, t in tables.items()}
    for name, table in prepared.items():
        check_names(target.kind, table.column_names, f"table {name!r}")
    started = time.perf_counter()
    with connected(target) as (engine, conn):
        try:
            engine.execute(conn, _LEDGER_DDL)
            with engine.transaction(conn):
                p = engine.param
                claimed = engine.changed_rows(
                    conn,
                    f"INSERT INTO {_LEDGER} (dataset, run, chunk_id, rows, checksum) "  # noqa: S608 (constant)
                    f"VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING",
                    [dataset, run, chunk_id, sum(t.num_rows for t in prepared.values()), checksum],
                )
                if not claimed:
                    return ChunkLoad(False, {}, time.perf_counter() - started)
                rows = {
                    name: engine.write(
                        conn, name, table.column_names, slices(table, engine.load_batch_rows)
                    )
                    for name, table in prepared.items()
                }
        except DRIVER_ERRORS as exc:
            raise failed(f"loading chunk {chunk_id}", target, exc) from exc
    return ChunkLoad(True, rows, time.perf_counter() - started)


def loaded_chunks(target: Target, run: str) -> dict[int, str]:
    """Chunks of ``run`` the ledger says are loaded, with their checksums."""
    with connected(target) as (engine, conn):
        if engine.find_table(conn, LEDGER_TABLE) is None:
            return {}
        rows = engine.query(
            conn,
            f"SELECT chunk_id, checksum FROM {_LEDGER} WHERE run = {engine.param}",  # noqa: S608 (constant)
            [run],
        )
        return {int(c): s for c, s in rows}


def forget_dataset(target: Target, dataset: str) -> int:
    """Drop the ledger's rows of ``dataset`` (its tables were dropped and created again)."""
    with connected(target) as (engine, conn):
        if engine.find_table(conn, LEDGER_TABLE) is None:
            return 0
        try:
            with engine.transaction(conn):
                return engine.changed_rows(
                    conn,
                    f"DELETE FROM {_LEDGER} WHERE dataset = {engine.param}",  # noqa: S608 (constant)
                    [dataset],
                )
        except DRIVER_ERRORS as exc:
            raise failed("clearing the chunk ledger", target, exc) from exc
