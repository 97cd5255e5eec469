"""A check's verdict on one dataset, from what its migrations did: turbo-hipster's outcomes,
each naming the dataset and the migration, and the thresholds learned from earlier runs.

- FAILURE: a migration failed (its traceback is in the log); a migration started and did not
  end (the check's time limit); the schema did not reach the project's latest version.
- WARNING (FAILURE if the project says so): a migration took longer than its threshold, which
  is learned per (dataset, migration) from its earlier successful runs once there are enough
  of them, a default until then.
- WARNING: a dangerous lock, ACCESS EXCLUSIVE on a large table held longer than a budget
  (every read and write of the table waits that long in production).
- INTERNAL ERROR: the gate could not set up (the dataset, the project's environment): never
  the change's fault, said apart.

Pure: no Django.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from migrations_gate.runner.steps import OK, TIMEOUT, DriverRun

__all__ = [
    "FAILURE", "INTERNAL_ERROR", "SUCCESS", "WARNING", "Finding", "Thresholds", "judge",
    "overall", "threshold",
]  # fmt: skip

SUCCESS, WARNING, FAILURE, INTERNAL_ERROR = "SUCCESS", "WARNING", "FAILURE", "INTERNAL_ERROR"
_RANK = {SUCCESS: 0, WARNING: 1, FAILURE: 2, INTERNAL_ERROR: 3}


@dataclass(frozen=True)
class Thresholds:
    default_seconds: float = 120.0  # a migration's limit until its history says more
    min_history: int = 5  # successful runs before the limit is learned
    factor: float = 2.0  # learned limit: this many times the median ...
    spread: float = 4.0  # ... or the median plus this many median absolute deviations
    slack_seconds: float = 1.0  # and never under the median plus this: timer noise
    too_long_fails: bool = False
    lock_budget_seconds: float = 1.0
    large_table_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    outcome: str
    code: str  # failed, did_not_end, wrong_version, too_long, dangerous_lock, setup
    dataset: str
    migration: str
    message: str


def threshold(history: Sequence[float], t: Thresholds) -> float:
    """The longest a migration may take, from its earlier successful durations on a dataset:
    robust to one slow outlier (medians), generous to a fast migration (the slack)."""
    if len(history) < t.min_history:
        return t.default_seconds
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    return max(median * t.factor, median + t.spread * mad, median + t.slack_seconds)


def judge(
    dataset: str,
    run: DriverRun,
    *,
    history: Mapping[str, Sequence[float]],
    thresholds: Thresholds,
) -> list[Finding]:
    """Everything wrong with ``run`` on ``dataset``; empty when it succeeded."""
    findings: list[Finding] = []

    def add(outcome: str, code: str, migration: str, message: str) -> None:
        findings.append(Finding(outcome, code, dataset, migration, message))

    for step in run.steps:
        if step.status == TIMEOUT:
            add(FAILURE, "did_not_end", step.migration,
                f"{dataset}: migration {step.migration} started and did not end "
                f"(stopped after {step.seconds:.1f}s at the check's time limit)")  # fmt: skip
            continue
        if step.status != OK:
            last = next((line for line in reversed(step.tail) if line.strip()), "")
            add(FAILURE, "failed", step.migration,
                f"{dataset}: migration {step.migration} failed: {last.strip()[:300]}")  # fmt: skip
            continue
        limit = threshold(history.get(step.migration, ()), thresholds)
        if step.seconds > limit:
            add(FAILURE if thresholds.too_long_fails else WARNING, "too_long", step.migration,
                f"{dataset}: migration {step.migration} took too long: {step.seconds:.1f}s "
                f"(limit {limit:.1f}s)")  # fmt: skip
        for held in step.measures.strongest() if step.measures else ():
            size = step.measures.relation_bytes.get(held.relation, 0)  # type: ignore[union-attr]
            if (
                size >= thresholds.large_table_bytes
                and held.seconds > thresholds.lock_budget_seconds
            ):
                add(WARNING, "dangerous_lock", step.migration,
                    f"{dataset}: migration {step.migration} held ACCESS EXCLUSIVE on "
                    f"{held.relation} ({_size(size)}) for {held.seconds:.1f}s "
                    f"(budget {thresholds.lock_budget_seconds:.1f}s)")  # fmt: skip
    if run.timed_out and not any(f.code == "did_not_end" for f in findings):
        add(FAILURE, "did_not_end", "",
            f"{dataset}: the migrations did not end within the check's time limit")  # fmt: skip
    elif not any(f.outcome == FAILURE for f in findings):
        if not run.ended:
            last = next((line for line in reversed(run.tail) if line.strip()), "")
            add(FAILURE, "failed", "",
                f"{dataset}: the migration tool stopped (exit {run.exit_code}) before the end: "
                f"{last.strip()[:300]}")  # fmt: skip
        elif run.left:
            add(FAILURE, "wrong_version", "",
                f"{dataset}: final schema version does not match expectation: "
                f"{run.left} migrations still not applied")  # fmt: skip
    return findings


def overall(findings: Iterable[Finding]) -> str:
    """The check's outcome: its worst finding's."""
    return max((f.outcome for f in findings), key=_RANK.__getitem__, default=SUCCESS)


def _size(nbytes: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024  # type: ignore[assignment]
    return f"{nbytes} bytes"
