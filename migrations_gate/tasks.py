"""The gate's job (core.registry): a check is a job row run through core.tasks.run_job."""

from core import registry
from migrations_gate.models import Check
from migrations_gate.services import checks

registry.register_job(Check, execute=checks.execute_check)
