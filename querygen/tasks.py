"""querygen's job and schedule (core.registry), and its django-q entry points: thin, they call
a service. Runs are job rows, run through core.tasks.run_job."""

from django.conf import settings

from core import registry
from core.db import busy_retried
from querygen.models import QuerygenRun
from querygen.services import runs

START_SCHEDULE_NAME = "assay.querygen.start_due_runs"

registry.register_job(QuerygenRun, execute=runs.execute_run)
# Starts each enabled pair that is due; the tick is a setting, read when schedules are synced.
registry.register_schedule(
    START_SCHEDULE_NAME,
    "querygen.tasks.start_due_runs",
    every_minutes=lambda: settings.ASSAY_QUERYGEN_TICK_MINUTES,
)


@busy_retried  # a busy database delays the tick, never loses it
def start_due_runs() -> int:
    return len(runs.start_due_runs())
