"""datagen's jobs and schedule (core.registry), and its django-q entry points: thin, they call
a service. A run's setup and every chunk are job rows, run through core.tasks.run_job."""

from core import registry
from datagen.models import Chunk, DatagenRun
from datagen.services import runs
from datagen.services.chunks import work_chunk

SWEEP_SCHEDULE_NAME = "assay.datagen.sweep"

registry.register_job(DatagenRun, execute=runs.set_up_run, after_finish=runs.setup_finished)
registry.register_job(Chunk, execute=work_chunk, after_finish=runs.chunk_finished)
# Finishes runs whose last chunk the reaper failed: no worker was left to finish them.
registry.register_schedule(SWEEP_SCHEDULE_NAME, "datagen.tasks.sweep", every_minutes=1)


def sweep() -> int:
    return runs.sweep()
