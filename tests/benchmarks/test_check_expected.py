"""A smoke run of benchmarks/check_expected.py with a tiny n."""

from __future__ import annotations


def test_benchmark_script_runs_with_a_tiny_n(run_benchmark) -> None:
    out = run_benchmark("check_expected.py", "--n", "200", "--sqlite-only")
    assert "check_expected" in out
    assert "SQLite" in out
