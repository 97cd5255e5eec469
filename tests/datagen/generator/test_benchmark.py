"""A smoke run of benchmarks/datagen.py in its quick mode, so the script does not rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_datagen_benchmark_runs_in_quick_mode(capsys, monkeypatch) -> None:
    path = ROOT / "benchmarks" / "datagen.py"
    spec = importlib.util.spec_from_file_location("bench_datagen", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script adds the repository root
    spec.loader.exec_module(module)
    # --quick: one chunk, one repeat, 2 chunks for the processes, 4 for real qcluster processes
    # on a throwaway site, no PostgreSQL.
    assert module.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "anchor: DuckDB range()+random() COPY to Parquet, threads=1" in out
    assert "ratio DuckDB / datagen per core" in out
    assert "2 worker processes vs 1" in out
    assert "manage.py qcluster, 4-chunk fakedb run" in out
    assert "2 workers (ASSAY_Q_WORKERS=2)" in out
    assert "qcluster speed-up 2 workers vs 1" in out
