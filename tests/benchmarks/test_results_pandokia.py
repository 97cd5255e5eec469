"""A smoke run of benchmarks/results_pandokia.py: a few records, once, without Pandokia."""

from __future__ import annotations

from results.importers import parse_file


def test_the_nightly_file_is_a_valid_pandokia_log(load_benchmark, tmp_path) -> None:
    module = load_benchmark("results_pandokia.py")
    module.nightly_file(tmp_path / "n.pdk", 300)
    parsed = parse_file((tmp_path / "n.pdk").read_bytes(), "n.pdk")
    assert len(parsed.results) == 300 and not parsed.warnings
    assert {r.status for r in parsed.results} >= {"P", "F"}


def test_the_benchmark_prints_its_figures_and_goals(load_benchmark, capsys) -> None:
    module = load_benchmark("results_pandokia.py")
    assert module.main(["--records", "50", "--repeats", "1", "--pdk", ""]) == 0
    out = capsys.readouterr().out
    assert "Pandokia not found" in out
    assert "nightly (50 records): Assay import_results " in out and "load average" in out
    assert "goal: one record <= 0.5 s: " in out
