"""A check's Markdown summary: outcome, findings, the slowest migrations with their locks,
rewrites and WAL, and nothing a migration's name or error could inject."""

from __future__ import annotations

import json

from migrations_gate.runner.outcome import FAILURE, WARNING, Finding
from migrations_gate.runner.report import dataset_record, markdown
from migrations_gate.runner.steps import FAILED, OK, DriverRun, StepResult
from migrations_gate.runner.watch import Held, Measures


def test_the_summary_names_findings_and_the_slowest_migrations() -> None:
    lock = Held("public.orders", "AccessExclusiveLock", 0.0, 2.5)
    steps = [
        StepResult("shop.0002_note", OK, 0.2, measures=Measures(4096, 0, [], [], [], [], 3)),
        StepResult("shop.0004_bigint", OK, 3.0,
                   measures=Measures(5_000_000, 0, ["public.orders"], [], [], [lock], 9)),
        StepResult("shop.0005_bad|x", FAILED, 0.1, tail=["Error: <b>boom</b>"]),
    ]  # fmt: skip
    run = DriverRun(steps, False, None, 1, False, [])
    findings = [
        Finding(WARNING, "dangerous_lock", "prod", "shop.0004_bigint", "prod: held it | long"),
        Finding(FAILURE, "failed", "prod", "shop.0005_bad|x", "prod: <b>boom</b>"),
    ]
    record = dataset_record("prod", FAILURE, run, findings)
    assert json.loads(json.dumps(record)) == record  # JSON-ready
    sqlite = dataset_record("small", "SUCCESS", DriverRun([StepResult("a1", OK, 0.1)], True, 0,
                                                          0, False, []), [])  # fmt: skip
    text = markdown("shop", "refs/changes/1/2/3", "0123456789abcdef", FAILURE, [record, sqlite],
                    "http://gate/checks/7/log")  # fmt: skip
    lines = text.splitlines()
    assert (
        lines[0] == "**Migrations gate: FAILURE** for shop at `refs/changes/1/2/3` (0123456789ab)"
    )
    assert "### prod: FAILURE" in lines and "- WARNING: prod: held it \\| long" in lines
    assert "- FAILURE: prod: &lt;b>boom&lt;/b>" in lines  # no markup from an error
    rows = [line for line in lines if line.startswith("| `")]
    assert rows[0] == ("| `shop.0004_bigint` | 3.00s | public.orders 2.50s | public.orders "
                       "| 4.8 MB |")  # fmt: skip
    assert rows[2].startswith("| `shop.0005_bad\\|x` (failed) | 0.10s | - | n/a | n/a |")
    assert "| `a1` | 0.10s | - | n/a | n/a |" in lines  # SQLite: nothing measured
    assert lines[-1] == "Logs: http://gate/checks/7/log"
