"""benchmarks/querygen.py runs end to end (a quick run) and prints each figure with its goal."""

from benchmarks import querygen


def test_the_benchmark_prints_its_four_figures(capsys) -> None:
    assert querygen.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for line in (
        "compared queries per CPU second (one core)",
        "compared queries per wall second",
        "wall time outside the engines",
        "queries the reference answered",
        "reduced/original size",
    ):
        assert line in out, out
    assert out.count("goal") >= 3
