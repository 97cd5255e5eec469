"""`manage.py crashtest` end to end: real qcluster workers, a real web server and real
SIGKILL/SIGSTOP on a throwaway site, the ORM broker for half a minute and Redis for a shorter
run (`make soak` runs an hour). Each must lose nothing and duplicate no effect, and be recorded
in results."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from crashtest.harness.redis_server import MISSING, find_redis_server
from crashtest.models import CrashRun
from results.models import TestResult, TestRun

pytestmark = pytest.mark.django_db

FAILING = ("lost", "duplicated effects", "unexpected", "refused left a row", "half-written")


def crash(tmp_path: Path, *args: str) -> tuple[CrashRun, str]:
    out = io.StringIO()
    call_command("crashtest", "--folder", str(tmp_path / "crash"), *args, stdout=out)
    return CrashRun.objects.get(), out.getvalue()


def check_nothing_lost(row: CrashRun, workloads: set[str]) -> dict[tuple[str, str], dict]:
    checks = {(c["workload"], c["name"]): c for c in row.report["checks"]}
    assert {w for w, _ in checks} == workloads | {"nemesis"}
    for workload in workloads:
        for name in FAILING:
            if (workload, name) in checks:
                assert checks[workload, name]["value"] == 0, checks[workload, name]
        assert checks[workload, "acknowledged"]["value"] > 0
        assert checks[workload, "ok"]["value"] == checks[workload, "acknowledged"]["value"]
    return checks


def test_kills_pauses_and_resizing_on_the_orm_broker(tmp_path: Path) -> None:
    row, printed = crash(tmp_path, "--minutes", "0.5", "--seed", "5", "--workers", "3")
    assert row.state == CrashRun.State.PASSED, printed
    assert row.kills >= 8, printed
    checks = check_nothing_lost(row, {"datagen", "imports", "querygen"})
    assert checks["datagen", "checksum"]["value"] == 0
    assert checks["datagen", "runs finished"]["value"] >= 1
    assert checks["querygen", "queries"]["value"] == 0
    assert checks["querygen", "group counts"]["value"] == 0
    counts = row.report["counts"]
    assert counts["restarts"] == counts["kills"]
    assert counts["pauses"] >= 1 and counts["grows"] + counts["shrinks"] >= 1
    # master-crasher's line as it went, then the table and the verdict
    assert "c1" in printed or "c2" in printed or "c3" in printed
    assert "lost" in printed and f"crash test {row.pk} PASSED: {row.kills} kills" in printed
    report = json.loads((tmp_path / "crash" / "report.json").read_text())
    assert report["checks"] == row.report["checks"] and report["ok"]
    assert [p["name"] for p in report["phases"]] == ["setup", "chaos", "heal", "drain", "check"]
    # Every worker life ended by a kill was followed by another life.
    for worker in report["workers"]:
        for life, following in zip(worker["lives"], worker["lives"][1:], strict=False):
            assert life["end"] is not None and following["start"] >= life["end"]
    # Recorded in results: one test per check, all passing, and one for the run.
    run = TestRun.objects.get(name=row.results_run)
    assert row.results_run.startswith("crashtest_")
    results = dict(TestResult.objects.filter(run=run).values_list("test_name", "status"))
    assert results["crashtest.sqlite.orm.run"] == "P"
    assert results["crashtest.sqlite.orm.datagen.lost"] == "P"
    assert results["crashtest.sqlite.orm.imports.duplicated_effects"] == "P"
    assert len(results) == len(row.report["checks"]) + 1
    assert set(results.values()) == {"P"}


def test_a_crash_test_on_the_redis_broker(tmp_path: Path) -> None:
    if find_redis_server() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    row, printed = crash(
        tmp_path, "--minutes", "0.25", "--seed", "9", "--broker", "redis",
        "--nemesis", "kill", "--workload", "datagen", "--no-record",
    )  # fmt: skip
    assert row.state == CrashRun.State.PASSED, printed
    assert row.kills >= 1 and row.broker == "redis" and not row.results_run
    checks = check_nothing_lost(row, {"datagen"})
    assert checks["datagen", "checksum"]["value"] == 0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--nemesis", "restart-db"], "--nemesis restart-db needs --database postgresql"),
        (["--nemesis", "flood"], "--nemesis flood: one of kill, pause"),
        (["--workload", "nothing"], "--workload nothing: one of datagen, imports"),
        (["--workers", "0"], "--workers: from 1 to 16"),
        (["--broker", "kafka"], "--broker: one of orm, redis"),
        (["--lease", "1"], "--lease: at least 5 seconds"),
        (["--watchdog", "5"], "--watchdog: seconds, at least two leases"),
        (["--watchdog", "nan"], "--watchdog: seconds, at least two leases"),
        (["--seed", "-1"], "--seed: from 0 to 2147483647"),
        (["--minutes", "0"], "--minutes: more than 0"),
    ],
)
def test_bad_options_are_one_line(tmp_path: Path, args: list[str], said: str) -> None:
    with pytest.raises(CommandError, match=said.replace("+", r"\+")) as caught:
        call_command("crashtest", *args, stdout=io.StringIO())
    assert "\n" not in str(caught.value)
    assert not CrashRun.objects.exists()


def test_a_folder_in_use_is_refused(tmp_path: Path) -> None:
    (tmp_path / "crash").mkdir()
    (tmp_path / "crash" / "site.sqlite3").write_text("someone's")
    with pytest.raises(CommandError, match="is not empty: a crash test makes its own site"):
        crash(tmp_path)
    assert CrashRun.objects.get().state == CrashRun.State.ERROR


def test_a_folder_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "crash").write_text("a file")
    with pytest.raises(CommandError) as caught:
        crash(tmp_path)
    assert "\n" not in str(caught.value) and "crash" in str(caught.value)
    assert CrashRun.objects.get().state == CrashRun.State.ERROR
