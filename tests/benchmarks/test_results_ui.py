"""A smoke run of benchmarks/results_ui.py with a tiny n."""

from __future__ import annotations


def test_ui_benchmark_runs_with_a_tiny_n(run_benchmark) -> None:
    out = run_benchmark("results_ui.py", "--n", "200", "--repeat", "1", "--sqlite-only")
    assert "SQLite: pages of a 200-result run" in out
    for label in ("run page = tree at the root", "tree two levels down", "compare page"):
        assert label in out
    assert "anchor: SELECT status, COUNT(*)" in out
