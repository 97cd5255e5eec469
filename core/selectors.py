"""Read paths of core: what runs in the background, for `manage.py jobs` and the admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django_q.models import Schedule

from core import registry
from core.models import JobState


def _dotted(func: object) -> str:
    if func is None:
        return "-"
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


@dataclass
class JobTypeRow:
    label: str
    execute: str
    after_finish: str
    counts: dict[str, int]  # rows per state, every state present


@dataclass
class ScheduleRow:
    name: str
    func: str
    every: str
    next_run: datetime | None
    created: bool  # False until `migrate` has run since the app registered it


def job_type_rows() -> list[JobTypeRow]:
    rows = []
    for job_type in registry.job_types():
        by_state = dict(
            job_type.model.objects.order_by()
            .values_list("state")
            .annotate(n=Count("pk"))
            .values_list("state", "n")
        )
        rows.append(
            JobTypeRow(
                label=job_type.label,
                execute=_dotted(job_type.execute),
                after_finish=_dotted(job_type.after_finish),
                counts={state: by_state.get(state, 0) for state in JobState.values},
            )
        )
    return rows


def schedule_rows() -> list[ScheduleRow]:
    stored = {s.name: s for s in Schedule.objects.filter(name__startswith=registry.SCHEDULE_PREFIX)}
    rows = []
    for spec in registry.schedules():
        row = stored.get(spec.name)
        rows.append(
            ScheduleRow(
                name=spec.name,
                func=spec.func,
                every=spec.describe(),
                next_run=row.next_run if row else None,
                created=row is not None,
            )
        )
    return rows
