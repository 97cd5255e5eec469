"""The gate's job (core.registry): a check is a job row run through core.tasks.run_job."""

from typing import Any

from core import registry
from migrations_gate.models import Check


def execute_check(check: Check) -> Any:
    # Imported when a check runs, not when every process starts: the gate's runner loads
    # psycopg and yaml (a third of `manage.py import_results`' start-up on SQLite).
    from migrations_gate.services import checks

    return checks.execute_check(check)


registry.register_job(Check, execute=execute_check)
