"""django-q entry points of querygen (runs go through core.tasks.run_job)."""

from querygen.services import runs


def start_due_runs() -> int:
    return len(runs.start_due_runs())
