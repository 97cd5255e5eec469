"""results.demo's writers, `manage.py load_demo`, and smoke runs of the benchmark scripts."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from datetime import timedelta
from io import StringIO
from pathlib import Path
from types import ModuleType

import pytest
from django.core.management import call_command

from results.demo import (
    demo_file_defaults,
    json_results,
    junit_document,
    pdk_log,
    status_counts,
    write_demo_files,
)
from results.importers import ParsedFile, parse_file

ROOT = Path(__file__).resolve().parents[2]


def _statuses(parsed: ParsedFile) -> dict[str, int]:
    return dict(Counter(result.status for result in parsed.results))


# --- writers --------------------------------------------------------------------------------


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


# --- manage.py load_demo --------------------------------------------------------------------


def _load_demo(*args: str) -> str:
    out = StringIO()
    call_command("load_demo", "--no-progress", *args, stdout=out)
    return out.getvalue()


@pytest.mark.db_dependent
@pytest.mark.django_db
def test_load_demo_creates_three_daily_runs_with_missing_tests(settings, tmp_path) -> None:
    from results.models import TestResult, TestRun
    from results.services.runs import today

    settings.VAR_DIR = tmp_path
    output = _load_demo()
    assert len(list((tmp_path / "demo").glob("daily_*/*"))) == 9
    assert output.count(" results (") == 9  # one summary line per file

    day = today()
    names = [f"daily_{day - timedelta(days=back)}" for back in (2, 1, 0)]
    runs = {run.name: run for run in TestRun.objects.all()}
    assert sorted(runs) == names
    assert all(runs[name].prefix == "daily" for name in names)
    first, middle, last = (runs[name].status_counts for name in names)
    assert "M" not in first
    assert middle["M"] == 1
    assert last["M"] == 25
    statuses = set(TestResult.objects.values_list("status", flat=True).distinct())
    assert statuses == {"P", "F", "E", "D", "M"}
    # The counts cached on the runs agree with the rows.
    for name in names:
        rows = Counter(TestResult.objects.filter(run__name=name).values_list("status", flat=True))
        assert dict(rows) == runs[name].status_counts
    assert sum(first.values()) == sum(last.values())  # M records stand in for the absent

    # Idempotent: a second start loads nothing.
    total = TestResult.objects.count()
    assert "not loaded" in _load_demo()
    assert TestResult.objects.count() == total
    # --force loads again over the same runs, without duplicates.
    assert "Demo loaded" in _load_demo("--force")
    assert TestResult.objects.count() == total
    assert TestRun.objects.count() == 3


# --- the benchmarks must not rot --------------------------------------------------------------


def _load_script(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    path = ROOT / "benchmarks" / name
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    monkeypatch.setattr(sys, "path", list(sys.path))  # check_expected.py adds its folder
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("script", "expect"),
    [("results_import.py", "ratio (a)/(c)"), ("check_expected.py", "check_expected")],
)
def test_benchmark_script_runs_with_a_tiny_n(
    script, expect, django_db_blocker, capsys, monkeypatch
) -> None:
    module = _load_script(script, monkeypatch)
    # The script points Django at its own temporary database and puts ours back after.
    with django_db_blocker.unblock():
        assert module.main(["--n", "200", "--sqlite-only"]) == 0
    out = capsys.readouterr().out
    assert expect in out
    assert "SQLite" in out
