"""run_chunks (one process or several) and the `python -m datagen.generator` entry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from datagen.generator import dataset_checksum, generate_chunk, load_bundled_spec
from datagen.generator.__main__ import main, parse_chunks
from datagen.generator.run import run_chunks, summarize

ROOT = Path(__file__).resolve().parents[3]


def test_two_processes_give_the_same_dataset_as_one(tmp_path: Path) -> None:
    spec = load_bundled_spec("querygen")
    serial = list(run_chunks(spec, spec.chunk_ids(), 4, tmp_path / "one"))
    parallel = list(run_chunks(spec, spec.chunk_ids(), 4, tmp_path / "two", workers=2))
    assert sorted(r.chunk_id for r in parallel) == spec.chunk_ids()
    assert summarize(serial) == summarize(parallel)
    assert summarize(parallel)[1] == dataset_checksum(
        (c, generate_chunk(spec, c, 4).checksum) for c in spec.chunk_ids()
    )
    for result in parallel:
        assert all(f.path.exists() for f in result.files)
        assert result.total_bytes == sum(f.path.stat().st_size for f in result.files)


def test_cli_generates_chunks_and_prints_the_dataset_checksum(tmp_path: Path, capsys) -> None:
    assert main(["querygen", "--chunks", "0-1,3", "--out", str(tmp_path), "--seed", "9"]) == 0
    out = capsys.readouterr().out
    spec = load_bundled_spec("querygen")
    expected = dataset_checksum((c, generate_chunk(spec, c, 9).checksum) for c in (0, 1, 3))
    assert f"dataset checksum {expected}" in out
    assert (tmp_path / "facts" / "chunk_3.parquet").exists()
    assert not (tmp_path / "facts" / "chunk_2.parquet").exists()


def test_cli_checks_lists_and_refuses_politely(tmp_path: Path, capsys) -> None:
    assert main(["fakedb", "--check"]) == 0
    assert "fakedb: ok, 3 tables, 8983 chunks" in capsys.readouterr().out
    assert main(["querygen", "--list"]) == 0
    assert capsys.readouterr().out.split() == ["0", "1", "2", "3"]
    assert main(["querygen", "--chunks", "7", "--out", str(tmp_path)]) == 2
    assert "7 is not a chunk id of" in capsys.readouterr().err
    assert main(["querygn", "--check"]) == 2
    assert "did you mean 'querygen'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables: {}\nchunking: {kind: integer, num_chunks: 1}\n")
    assert main([str(bad), "--check"]) == 2
    assert capsys.readouterr().err.strip() == "error: tables: must name at least one table"


def test_parse_chunks() -> None:
    """The Django command's selections (issue 15: the README's `--chunks 0-3` on fakedb was
    refused, its ids 1..3 not being chunks of the sky layout)."""
    spec = load_bundled_spec("fakedb")
    assert parse_chunks("0", spec) == [0]
    assert parse_chunks("all", spec) == spec.chunk_ids()
    assert parse_chunks("first:4", spec) == spec.chunk_ids()[:4] == [0, 170, 171, 172]
    assert parse_chunks("0-3", spec) == [0]  # a range takes the chunks inside it
    with pytest.raises(ValueError, match="not a chunk"):
        parse_chunks("1", spec)
    with pytest.raises(ValueError):
        parse_chunks("zero", spec)


def test_python_dash_m_entry(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "datagen.generator", "querygen", "--chunks", "2", "--out", tmp_path],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "dataset checksum" in done.stdout
    assert (tmp_path / "numbers" / "chunk_2.parquet").exists()
