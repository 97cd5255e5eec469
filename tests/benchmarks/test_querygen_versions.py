"""benchmarks/querygen_versions.py runs end to end (seconds, a short ladder of real DuckDB
releases from the release cache) and prints both tools' figures and the goal."""

from benchmarks import querygen_versions


def test_the_benchmark_prints_both_tools_and_the_goal(capsys) -> None:
    argv = ["--old", "0.9.2", "--ladder", "0.10.3,1.1.3", "--seconds", "4"]
    assert querygen_versions.main(argv) == 0
    out = capsys.readouterr().out
    assert "DuckDB 0.9.2 (SUT) vs" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "querygen" in lines and "naive" in lines
    assert "distinct bugs, querygen / anchor:" in out and "(goal: more than the anchor)" in out
    assert "load average before:" in out
