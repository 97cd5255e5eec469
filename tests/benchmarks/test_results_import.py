"""A smoke run of benchmarks/results_import.py with a tiny n."""

from __future__ import annotations


def test_benchmark_script_runs_with_a_tiny_n(run_benchmark) -> None:
    out = run_benchmark("results_import.py", "--n", "200", "--sqlite-only")
    assert "ratio (a)/(c)" in out
    assert "SQLite: import of 200 JUnit testcases (medians of 3 rounds; load average" in out
    assert out.count("(c) anchor, a save() per result") == 3  # a round of each, three times
