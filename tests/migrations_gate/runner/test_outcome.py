"""A dataset's verdict from what its migrations did: turbo-hipster's outcomes, learned time
limits and dangerous locks."""

from __future__ import annotations

from migrations_gate.runner.outcome import (
    FAILURE,
    INTERNAL_ERROR,
    SUCCESS,
    WARNING,
    Finding,
    Thresholds,
    judge,
    overall,
    threshold,
)
from migrations_gate.runner.steps import FAILED, OK, TIMEOUT, DriverRun, StepResult
from migrations_gate.runner.watch import Held, Measures

T = Thresholds(default_seconds=10.0, min_history=3, lock_budget_seconds=1.0,
               large_table_bytes=1_000_000)  # fmt: skip


def measures(locks=(), sizes=None) -> Measures:
    return Measures(0, 0, [], [], [], list(locks), 1, sizes or {})


def run(*steps: StepResult, ended: bool = True, left: int | None = 0, **kw) -> DriverRun:
    fields = {"exit_code": 0, "timed_out": False, "tail": []} | kw
    return DriverRun(list(steps), ended, left, **fields)


def test_a_clean_run_succeeds() -> None:
    r = run(StepResult("app.0001", OK, 0.5, measures=measures()))
    assert judge("prod", r, history={}, thresholds=T) == []
    assert overall([]) == SUCCESS


def test_the_time_limit_is_the_default_until_learned_from_enough_runs() -> None:
    assert threshold([1.0, 1.2], T) == 10.0  # two runs: not enough
    assert threshold([1.0, 1.1, 1.2], T) == 2.2  # median 1.1: twice it
    assert threshold([0.01, 0.01, 0.02], T) == 1.01  # a fast one: the slack
    assert threshold([10.0, 10.0, 10.0, 10.0, 99.0], T) == 20.0  # one outlier moves nothing
    slow = run(StepResult("app.0002", OK, 3.0, measures=measures()))
    (found,) = judge("prod", slow, history={"app.0002": [1.0, 1.1, 1.2]}, thresholds=T)
    message = "prod: migration app.0002 took too long: 3.0s (limit 2.2s)"
    assert found == Finding(WARNING, "too_long", "prod", "app.0002", message)
    strict = Thresholds(default_seconds=1.0, too_long_fails=True)
    assert judge("prod", slow, history={}, thresholds=strict)[0].outcome == FAILURE


def test_a_failed_migration_names_its_last_error_line() -> None:
    r = run(
        StepResult("app.0001", OK, 0.1),
        StepResult("app.0002", FAILED, 0.2, tail=["Traceback ...", "psycopg.errors.X: boom", ""]),
        ended=False, left=None, exit_code=1,
    )  # fmt: skip
    (found,) = judge("prod", r, history={}, thresholds=T)
    assert (found.outcome, found.code, found.migration) == (FAILURE, "failed", "app.0002")
    assert found.message == "prod: migration app.0002 failed: psycopg.errors.X: boom"


def test_a_migration_that_did_not_end() -> None:
    r = run(StepResult("app.0003", TIMEOUT, 600.0), ended=False, left=None, exit_code=None,
            timed_out=True)  # fmt: skip
    (found,) = judge("prod", r, history={}, thresholds=T)
    assert found.code == "did_not_end" and found.outcome == FAILURE
    assert "app.0003 started and did not end" in found.message


def test_a_schema_short_of_the_latest_version_fails() -> None:
    (found,) = judge("prod", run(left=2), history={}, thresholds=T)
    assert found.code == "wrong_version"
    assert "final schema version does not match expectation: 2 migrations" in found.message


def test_a_tool_that_stopped_before_any_migration_fails_with_its_last_line() -> None:
    r = run(ended=False, left=None, exit_code=1, tail=["ImportError: No module named 'shop'"])
    (found,) = judge("prod", r, history={}, thresholds=T)
    assert found.code == "failed" and "exit 1" in found.message and "ImportError" in found.message


def test_an_exclusive_lock_is_dangerous_on_a_large_table_held_long() -> None:
    long_big = Held("public.orders", "AccessExclusiveLock", 0.0, 2.5)
    long_small = Held("public.tiny", "AccessExclusiveLock", 0.0, 9.0)
    short_big = Held("public.users", "AccessExclusiveLock", 0.0, 0.2)
    shared = Held("public.orders", "ShareLock", 0.0, 9.0)
    sizes = {"public.orders": 5_000_000, "public.tiny": 8192, "public.users": 9_000_000}
    locks = measures([long_big, long_small, short_big, shared], sizes)
    r = run(StepResult("app.0004", OK, 3.0, measures=locks))
    (found,) = judge("prod", r, history={}, thresholds=T)
    assert found.outcome == WARNING and found.code == "dangerous_lock"
    assert found.message == ("prod: migration app.0004 held ACCESS EXCLUSIVE on public.orders "
                             "(4.8 MB) for 2.5s (budget 1.0s)")  # fmt: skip


def test_the_overall_outcome_is_the_worst() -> None:
    f = [Finding(WARNING, "too_long", "a", "m", ""), Finding(FAILURE, "failed", "b", "m", "")]
    assert overall(f) == FAILURE
    assert overall([*f, Finding(INTERNAL_ERROR, "setup", "c", "", "")]) == INTERNAL_ERROR
