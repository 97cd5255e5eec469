"""A querygen run's life, one module per stage: submit (validate everything; nothing is created
on bad input), execute (check queries until a budget is spent, reduce and group each finding),
record (results, the report, the announcement), schedule (pairs), replay (a finding again)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import lazy_loader

# Each name loads its stage on first use (PEP 562, by lazy_loader): the stages need the engine
# (sqlglot, the drivers), and the site's start-up (the tasks registry, the admin) must not load
# it for a CI job that imports one file of results (a test of import_results). dir() is left
# as it was (module globals): the lazy table lacks execute_run, defined below.
__getattr__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "record": [
            "COUNT_FIELDS",
            "announce",
            "record_results",
            "report",
            "results_run_name",
            "run_groups",
        ],
        "replay": ["Replay", "replay_finding"],
        "schedule": ["PENDING", "start_due_runs", "submit_pair"],
        "submit": [
            "DEFAULT_MAX_REDUCTIONS",
            "MAX_BUDGET_QUERIES",
            "MAX_BUDGET_SECONDS",
            "MAX_LADDER",
            "MAX_REDUCTIONS",
            "MAX_ROWS",
            "MAX_SEED",
            "MAX_TIMEOUT",
            "RUN_ATTEMPTS",
            "build_run",
            "submit_run",
        ],
    },
)[0]

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
