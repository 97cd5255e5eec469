"""A smoke run of benchmarks/write_contention.py: seconds, small files, one large client."""

from __future__ import annotations


def test_the_benchmark_prints_both_phases_and_the_ratio(load_benchmark, capsys) -> None:
    module = load_benchmark("write_contention.py")
    assert module.main(["--clients", "1", "--cases", "500", "--seconds", "2"]) == 0
    out = capsys.readouterr().out
    assert "anchor (no large imports): " in out
    assert "with 1 large-import clients: " in out
    assert "5xx 0 (503 0)" in out
    assert "ratio with / without: median" in out
    assert "load average before" in out
