"""datagen/generator/ledger.py: loading a chunk at most once per run, against real SQLite and
DuckDB files and (PostgreSQL pass) a real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pyarrow as pa
import pytest

from datagen.generator import ledger, loaders
from datagen.generator.loaders import LoadFailed, Target
from tests.datagen.generator.factories import ALL_ENGINES

# --- loading a chunk once -----------------------------------------------------------------------


def _chunk_tables(chunk_id: int) -> dict[str, pa.Table]:
    return {
        "obj": pa.table({"id": pa.array([chunk_id * 10 + i for i in range(3)], pa.int64())}),
        "src": pa.table({"obj": pa.array([chunk_id * 10, chunk_id * 10], pa.int64())}),
    }


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_load_chunk_writes_a_chunk_once_per_run(target: Target) -> None:
    loaders.create_tables(target, {n: t.schema for n, t in _chunk_tables(0).items()})
    first = ledger.load_chunk(target, "fake", "run-1", 7, _chunk_tables(7), checksum="abc")
    assert first.loaded and first.rows == {"obj": 3, "src": 2}
    again = ledger.load_chunk(target, "fake", "run-1", 7, _chunk_tables(7), checksum="abc")
    assert not again.loaded and again.rows == {}
    ledger.load_chunk(target, "fake", "run-1", 8, _chunk_tables(8), checksum="def")
    # the ledger is bookkeeping: not listed, counted or copied with the data
    assert loaders.row_counts(target) == {"obj": 6, "src": 4}
    assert ledger.loaded_chunks(target, "run-1") == {7: "abc", 8: "def"}
    assert ledger.loaded_chunks(target, "run-2") == {}
    # another run of the same dataset loads its own copy; forgetting the dataset clears both
    assert ledger.load_chunk(target, "fake", "run-2", 7, _chunk_tables(7)).loaded
    assert ledger.forget_dataset(target, "fake") == 3
    assert ledger.loaded_chunks(target, "run-1") == {}


@pytest.mark.parametrize("kind", ALL_ENGINES)
def test_load_chunk_failing_table_leaves_nothing(target: Target) -> None:
    loaders.create_tables(target, {"obj": _chunk_tables(0)["obj"].schema})  # no table "src"
    with pytest.raises(LoadFailed):
        ledger.load_chunk(target, "fake", "run-1", 7, _chunk_tables(7))
    assert loaders.row_counts(target) == {"obj": 0}
    assert ledger.loaded_chunks(target, "run-1") == {}


def test_load_chunk_waits_for_another_process_holding_a_duckdb_file(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "locked.duckdb"
    target = Target.duckdb(path)
    loaders.create_tables(target, {n: t.schema for n, t in _chunk_tables(0).items()})
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(path)!r}); "
            "print('held', flush=True); time.sleep(1.5)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert ledger.load_chunk(target, "fake", "r", 1, _chunk_tables(1)).loaded
    finally:
        holder.wait(timeout=30)
    assert loaders.row_counts(target) == {"obj": 3, "src": 2}
