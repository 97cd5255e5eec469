"""results.demo's writers (`manage.py load_demo`: tests/results/management/commands/)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from results.demo import (
    demo_file_defaults,
    json_results,
    junit_document,
    pdk_log,
    status_counts,
    write_demo_files,
)
from results.importers import ParsedFile, parse_file


def _statuses(parsed: ParsedFile) -> dict[str, int]:
    return dict(Counter(result.status for result in parsed.results))


def test_junit_document_parses_into_the_announced_counts() -> None:
    parsed = parse_file(junit_document(1000), "demo.xml")
    assert (parsed.format, parsed.flavour) == ("junit", "pytest-xunit2")
    assert len(parsed.results) == 1000
    assert _statuses(parsed) == {"P": 965, "F": 20, "E": 5, "D": 10} == status_counts(1000)
    names = [result.test_name for result in parsed.results]
    assert len(set(names)) == 1000
    assert all(name.startswith("tests.") and name.count(".") == 4 for name in names)
    assert len({name.rsplit(".", 2)[0] for name in names}) > 10  # many modules: a deep tree
    failure = next(result for result in parsed.results if result.status == "F")
    assert failure.tra["message"]
    assert failure.log.count("\n") >= 2  # multi-line failure text and system-out
    assert failure.host == "build-01"


def test_junit_document_is_deterministic_and_the_seed_moves_failures() -> None:
    assert junit_document(300, seed=3) == junit_document(300, seed=3)

    def failing(seed: int) -> set[str]:
        parsed = parse_file(junit_document(300, seed=seed), "demo.xml")
        return {result.test_name for result in parsed.results if result.status == "F"}

    assert failing(0) != failing(1)
    assert failing(0) == failing(50)  # a shift by fail_every fails the same tests


def test_junit_document_omit_keeps_the_other_names_and_statuses() -> None:
    full = parse_file(junit_document(200), "full.xml").results
    part = parse_file(junit_document(200, omit=range(0, 200, 2)), "part.xml").results
    assert [(r.test_name, r.status) for r in part] == [(r.test_name, r.status) for r in full[1::2]]


def test_junit_document_escapes_and_custom_periods() -> None:
    parsed = parse_file(
        junit_document(12, fail_every=2, error_every=3, skip_every=0, suite='a<b&"c"'),
        "demo.xml",
    )
    assert _statuses(parsed) == status_counts(12, fail_every=2, error_every=3, skip_every=0)


def test_pdk_log_parses_with_defaults_and_multi_line_logs() -> None:
    text = pdk_log(100, seed=2, test_run="daily_2026-01-02", project="loader", host="etl-02")
    parsed = parse_file(text.encode(), "loader.pdk")
    assert parsed.format == "pdk"
    assert parsed.warnings == []
    assert _statuses(parsed) == status_counts(100, seed=2, fail_every=10, error_every=40,
                                              skip_every=25)  # fmt: skip
    assert {(r.test_run, r.project, r.host) for r in parsed.results} == {
        ("daily_2026-01-02", "loader", "etl-02")
    }
    failure = next(result for result in parsed.results if result.status == "F")
    assert failure.log.count("\n") >= 3
    assert failure.duration is not None and failure.start_time is not None
    assert failure.tda["rows"]


def test_json_results_parses() -> None:
    data = json_results(60, run="nightly-7", project="client", host="mac-03", context="py3.12")
    parsed = parse_file(data, "client.json")
    assert parsed.format == "json"
    assert _statuses(parsed) == status_counts(60, fail_every=10, error_every=40, skip_every=25)
    assert {(r.test_run, r.project, r.host, r.context) for r in parsed.results} == {
        ("nightly-7", "client", "mac-03", "py3.12")
    }
    assert all(r.test_runner == "assay-demo" for r in parsed.results)


def test_write_demo_files(tmp_path: Path) -> None:
    from datetime import date

    paths = write_demo_files(tmp_path, date(2026, 3, 1))
    assert len(paths) == 9
    assert {p.parent.name for p in paths} == {
        "daily_2026-02-27",
        "daily_2026-02-28",
        "daily_2026-03-01",
    }
    formats = Counter()
    for path in paths:
        parsed = parse_file(path.read_bytes(), path.name)
        formats[parsed.format] += 1
        assert {"P", "F"} <= set(_statuses(parsed))
        assert demo_file_defaults(path)["run"] == path.parent.name
    assert formats == {"junit": 3, "pdk": 3, "json": 3}
