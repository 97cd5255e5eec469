"""django-q entry points of core, and core's schedule: thin, they load by id and call the runner.

Every app's tasks.py registers its jobs and schedules with core.registry; core.apps imports
them all at start (the admin's autodiscover pattern)."""

from core import jobs, registry

REAPER_SCHEDULE_NAME = "assay.reap_jobs"

# Lost deliveries and dead workers are found within a minute on any cluster sharing the database.
registry.register_schedule(REAPER_SCHEDULE_NAME, "core.tasks.reap_jobs", every_minutes=1)


def run_job(label: str, pk: int) -> str:
    return jobs.run_job(label, pk)


def reap_jobs() -> int:
    return jobs.reap_jobs()
