"""Running a datagen run's jobs in this process, through the core runner (the tests of
datagen's services)."""

from __future__ import annotations

from django_q.models import OrmQ

from core import jobs
from datagen.models import DatagenRun


def queued(label: str) -> list[int]:
    return [t.task["args"][1] for t in OrmQ.objects.all() if t.task["args"][0] == label]


def set_up(run: DatagenRun, capture) -> list[int]:
    with capture(execute=True):
        assert jobs.run_job("datagen.DatagenRun", run.pk) == "succeeded"
    return queued("datagen.Chunk")


def work_all(pks: list[int]) -> list[str]:
    return [jobs.run_job("datagen.Chunk", pk) for pk in pks]
