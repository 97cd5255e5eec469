"""datagen's jobs (core.registry), thin: they call a service. A run's setup and every chunk are
job rows, run through core.tasks.run_job; the reaper's rounds run the sweep, which finishes runs
whose last chunk's worker died before finishing the run."""

from core import registry
from datagen.models import Chunk, DatagenRun

# By dotted path: the services load when a worker first runs one (core.registry.Lazy).
RUNS = "datagen.services.runs"
registry.register_job(
    DatagenRun, execute=f"{RUNS}.set_up_run", after_finish=f"{RUNS}.setup_finished"
)
registry.register_job(
    Chunk,
    execute="datagen.services.chunks.work_chunk",
    after_finish=f"{RUNS}.chunk_finished",
    sweep=f"{RUNS}.sweep",
)
