"""A smoke run of benchmarks/datagen.py in its quick mode."""

from __future__ import annotations


def test_datagen_benchmark_runs_in_quick_mode(capsys, load_benchmark) -> None:
    module = load_benchmark("datagen.py")
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
