"""A querygen run's life, one module per stage: submit (validate everything; nothing is created
on bad input), execute (check queries until a budget is spent, reduce and group each finding),
record (results, the report, the announcement), schedule (pairs), replay (a finding again)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each name loads its stage on first use (PEP 562): the stages need the engine (sqlglot, the
# drivers), and the site's start-up (the tasks registry, the admin) must not load it for a CI
# job that imports one file of results (a test of import_results).
_EXPORTS = {
    "COUNT_FIELDS": "record",
    "announce": "record",
    "record_results": "record",
    "report": "record",
    "results_run_name": "record",
    "run_groups": "record",
    "PENDING": "schedule",
    "start_due_runs": "schedule",
    "submit_pair": "schedule",
    "DEFAULT_MAX_REDUCTIONS": "submit",
    "MAX_BUDGET_QUERIES": "submit",
    "MAX_BUDGET_SECONDS": "submit",
    "MAX_LADDER": "submit",
    "MAX_REDUCTIONS": "submit",
    "MAX_ROWS": "submit",
    "MAX_SEED": "submit",
    "MAX_TIMEOUT": "submit",
    "RUN_ATTEMPTS": "submit",
    "build_run": "submit",
    "submit_run": "submit",
    "Replay": "replay",
    "replay_finding": "replay",
}

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def execute_run(run: QuerygenRun) -> dict[str, Any]:
    """The run's job (registered by querygen.tasks at start-up, loaded when a run executes):
    see querygen.services.runs.execute.execute_run."""
    from querygen.services.runs.execute import execute_run as execute

    return execute(run)


if TYPE_CHECKING:
    from querygen.models import QuerygenRun
    from querygen.services.runs.record import (
        COUNT_FIELDS,
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
