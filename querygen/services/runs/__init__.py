"""A querygen run's life, one module per stage: submit (validate everything; nothing is created
on bad input), execute (check queries until a budget is spent, reduce and group each finding),
record (results, the report, the announcement), schedule (pairs), replay (a finding again)."""

from querygen.services.runs.execute import execute_run
from querygen.services.runs.record import (
    announce,
    record_results,
    report,
    results_run_name,
    run_groups,
)
from querygen.services.runs.replay import Replay, replay_finding
from querygen.services.runs.schedule import PENDING, start_due_runs, submit_pair
from querygen.services.runs.submit import (
    DEFAULT_MAX_REDUCTIONS,
    MAX_BUDGET_QUERIES,
    MAX_BUDGET_SECONDS,
    MAX_LADDER,
    MAX_REDUCTIONS,
    MAX_ROWS,
    MAX_SEED,
    MAX_TIMEOUT,
    RUN_ATTEMPTS,
    build_run,
    submit_run,
)

__all__ = [
    "COUNT_FIELDS",
    "DEFAULT_MAX_REDUCTIONS",
    "MAX_BUDGET_QUERIES",
    "MAX_BUDGET_SECONDS",
    "MAX_LADDER",
    "MAX_REDUCTIONS",
    "MAX_ROWS",
    "MAX_SEED",
    "MAX_TIMEOUT",
    "PENDING",
    "RUN_ATTEMPTS",
    "Replay",
    "announce",
    "build_run",
    "execute_run",
    "record_results",
    "replay_finding",
    "report",
    "results_run_name",
    "run_groups",
    "start_due_runs",
    "submit_pair",
    "submit_run",
]
