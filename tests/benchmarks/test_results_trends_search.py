"""A smoke run of benchmarks/results_trends_search.py on a few runs."""

from __future__ import annotations


def test_benchmark_script_runs_on_a_few_runs(run_benchmark) -> None:
    out = run_benchmark(
        "results_trends_search.py", "--series", "2", "--runs", "3", "--tests", "50",
        "--repeat", "1", "--database", "sqlite",
    )  # fmt: skip
    assert "search update_one_row" in out and "series page, 30 runs" in out
    assert "anchors: search" in out
