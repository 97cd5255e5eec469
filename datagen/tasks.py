"""django-q entry points of datagen (chunks and setups go through core.tasks.run_job)."""

from datagen.services import runs


def sweep() -> int:
    return runs.sweep()
