"""Recording a crash test in results: one test per check, failing where the check failed."""

from __future__ import annotations

import pytest

from core.exceptions import AssayError
from crashtest.models import CrashRun
from crashtest.services import crashruns
from results.models import TestResult

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]

REPORT = {
    "duration": 61.5,
    "stopped_by": "time",
    "progress": ",c1r1,p2u2",
    "errors": [],
    "counts": {"kills": 1},
    "checks": [
        {"workload": "imports", "name": "lost", "value": 2, "ok": False, "fails_run": True,
         "detail": "crash-imp-1-0-3, crash-imp-1-1-9"},
        {"workload": "imports", "name": "recovered", "value": 1, "ok": True, "fails_run": False,
         "detail": ""},
        {"workload": "datagen", "name": "duplicated effects", "value": 0, "ok": True,
         "fails_run": True, "detail": ""},
    ],
}  # fmt: skip


def test_a_failed_check_fails_its_test_and_the_run() -> None:
    row = CrashRun.objects.create(
        seed=4, minutes=1, workers=3, broker="redis", database="postgresql",
        state=CrashRun.State.FAILED, report=REPORT,
    )  # fmt: skip
    name = crashruns._record(row)
    assert name == crashruns.results_run_name(row) and name.startswith("crashtest_")
    results = {
        r.test_name: r for r in TestResult.objects.filter(run__name=name).select_related("run")
    }
    assert {n: r.status for n, r in results.items()} == {
        "crashtest.postgresql.redis.run": "F",
        "crashtest.postgresql.redis.imports.lost": "F",
        "crashtest.postgresql.redis.imports.recovered": "P",
        "crashtest.postgresql.redis.datagen.duplicated_effects": "P",
    }
    lost = results["crashtest.postgresql.redis.imports.lost"]
    assert lost.log == "crash-imp-1-0-3, crash-imp-1-1-9" and lost.tra["value"] == "2"
    assert results["crashtest.postgresql.redis.run"].tra["crash_run"] == str(row.pk)


def test_options_are_checked_before_anything_starts() -> None:
    with pytest.raises(AssayError, match="--minutes: more than 0"):
        crashruns.build_options(minutes=0)
    assert crashruns.build_options(seed=None).seed >= 0  # a random seed, stored
