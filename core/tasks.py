"""django-q entry points: thin, they load by id and call the runner."""

from core import jobs


def run_job(label: str, pk: int) -> str:
    return jobs.run_job(label, pk)


def reap_jobs() -> int:
    return jobs.reap_jobs()
