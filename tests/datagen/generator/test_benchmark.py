"""A smoke run of benchmarks/datagen.py with tiny sizes, so the script does not rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_datagen_benchmark_runs_with_tiny_sizes(capsys, monkeypatch) -> None:
    path = ROOT / "benchmarks" / "datagen.py"
    spec = importlib.util.spec_from_file_location("bench_datagen", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script adds the repository root
    spec.loader.exec_module(module)
    assert (
        module.main(["--chunks", "1", "--repeat", "1", "--workers-chunks", "2", "--no-postgres"])
        == 0
    )
    out = capsys.readouterr().out
    assert "anchor: DuckDB range()+random() COPY to Parquet, threads=1" in out
    assert "ratio DuckDB / datagen per core" in out
    assert "2 worker processes vs 1" in out
    assert "not measured here yet" in out
