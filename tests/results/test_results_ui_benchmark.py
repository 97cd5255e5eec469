"""A smoke run of benchmarks/results_ui.py (tests/results/test_demo.py does the same for the
other benchmarks), so the script does not rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ui_benchmark_runs_with_a_tiny_n(django_db_blocker, capsys, monkeypatch) -> None:
    path = ROOT / "benchmarks" / "results_ui.py"
    spec = importlib.util.spec_from_file_location("bench_results_ui", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script adds its folder
    spec.loader.exec_module(module)
    # The script points Django at its own temporary database and puts ours back after.
    with django_db_blocker.unblock():
        assert module.main(["--n", "200", "--repeat", "1", "--sqlite-only"]) == 0
    out = capsys.readouterr().out
    assert "SQLite: pages of a 200-result run" in out
    for label in ("run page = tree at the root", "tree two levels down", "compare page"):
        assert label in out
    assert "anchor: SELECT status, COUNT(*)" in out
