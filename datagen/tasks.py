"""datagen's jobs (core.registry), thin: they call a service. A run's setup and every chunk are
job rows, run through core.tasks.run_job; the reaper's rounds run the sweep, which finishes runs
whose last chunk's worker died before finishing the run."""

from core import registry
from datagen.models import Chunk, DatagenRun
from datagen.services import runs
from datagen.services.chunks import work_chunk

registry.register_job(DatagenRun, execute=runs.set_up_run, after_finish=runs.setup_finished)
registry.register_job(Chunk, execute=work_chunk, after_finish=runs.chunk_finished, sweep=runs.sweep)
