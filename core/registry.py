"""What runs in the background, registered by the app that owns it.

Each app's ``tasks.py`` says which of its models are jobs and which schedules it needs::

    registry.register_job(Chunk, execute=work_chunk, after_finish=chunk_finished, sweep=sweep)
    registry.register_schedule("assay.refresh_flaky_all", "results.tasks.refresh_flaky_all",
                               daily=True)

core runs the jobs (``core.jobs.run_job`` looks the handlers up here) and creates the schedules
after ``migrate`` (``sync_schedules``). Models hold data and invariants only, so a model never
imports the service that works it. core's AppConfig imports every app's ``tasks`` module at
start, and a system check refuses a ``JobBase`` model nobody registered.

The job contract:
- ``execute(job) -> dict | None`` does the work under the lease. It must be idempotent (a second
  delivery finds the work done or redoes it exactly), report progress with
  ``core.jobs.heartbeat`` (which extends the lease and raises ``LeaseLost`` once the row went to
  another worker), and raise to fail the attempt (``core.jobs.JobFailed`` fails the row for good
  at once, for a failure another attempt would repeat). A dict returned is written to the row
  in the same fenced UPDATE as the success, so totals never land without the state or the
  other way.
- ``after_finish(job, state)`` runs once the row is finished (succeeded, or failed for good),
  by the worker that finished it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.module_loading import import_string
from django_q.models import Schedule

from core.models import JobBase

Execute = Callable[[Any], dict | None]
AfterFinish = Callable[[Any, str], None]


@dataclass(frozen=True)
class JobType:
    label: str  # the model's "app_label.ModelName", what a task carries with the row id
    execute: Execute
    after_finish: AfterFinish | None = None
    # A repair the reaper runs with each of its rounds: what a worker that died between its
    # job's end and its after_finish left undone (datagen: a run whose chunks all ended).
    sweep: Callable[[], int] | None = None

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)


@dataclass(frozen=True)
class ScheduleSpec:
    """A django-q schedule: ``func`` is the dotted path of a task function."""

    name: str
    func: str
    every_minutes: int | Callable[[], int] | None = None  # a callable reads a setting at sync
    daily: bool = False

    @property
    def minutes(self) -> int | None:
        every = self.every_minutes
        return every() if callable(every) else every

    def describe(self) -> str:
        return "daily" if self.daily else f"every {self.minutes} min"


_job_types: dict[str, JobType] = {}
_schedules: dict[str, ScheduleSpec] = {}

# Schedules are ours by this prefix: one we no longer register is removed at sync.
SCHEDULE_PREFIX = "assay."


def _owner(func: Callable[..., Any]) -> str:
    return getattr(func, "__module__", "") or ""


class Lazy:
    """A handler given by its dotted path ("app.services.runs.set_up_run"), imported when it
    is first called: every process loads every app's tasks module at start, and a command that
    runs no job (a CI job's import) should not load the modules that work them."""

    def __init__(self, path: str):
        self.path = path
        self.__module__, _, self.__qualname__ = path.rpartition(".")
        self._func: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._func is None:
            self._func = import_string(self.path)
        return self._func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Lazy({self.path!r})"


def _handler(func: Callable[..., Any] | str | None) -> Any:
    return Lazy(func) if isinstance(func, str) else func


def register_job(
    model: type[models.Model],
    *,
    execute: Execute | str,
    after_finish: AfterFinish | str | None = None,
    sweep: Callable[[], int] | str | None = None,
) -> JobType:
    """Say how rows of ``model`` (a core.models.JobBase) are worked. A handler may be given
    by its dotted path: it is imported when first called (Lazy)."""
    execute, after_finish, sweep = _handler(execute), _handler(after_finish), _handler(sweep)
    if not (isinstance(model, type) and issubclass(model, JobBase)) or model._meta.abstract:
        raise ImproperlyConfigured(f"{model!r} is not a concrete JobBase model")
    label = model._meta.label
    known = _job_types.get(label)
    # A module imported again registers again; two modules registering one model is a mistake.
    if known and _owner(known.execute) != _owner(execute):
        raise ImproperlyConfigured(
            f"{label} is registered twice: by {_owner(known.execute)} and {_owner(execute)}"
        )
    job_type = JobType(label=label, execute=execute, after_finish=after_finish, sweep=sweep)
    _job_types[label] = job_type
    return job_type


def register_schedule(
    name: str,
    func: str,
    *,
    every_minutes: int | Callable[[], int] | None = None,
    daily: bool = False,
) -> ScheduleSpec:
    """A recurring django-q task, created (or updated) after every ``migrate``."""
    if not name.startswith(SCHEDULE_PREFIX):
        raise ImproperlyConfigured(f"schedule {name!r}: names start with {SCHEDULE_PREFIX!r}")
    if daily == (every_minutes is not None):
        raise ImproperlyConfigured(f"schedule {name!r}: give either every_minutes or daily")
    spec = ScheduleSpec(name=name, func=func, every_minutes=every_minutes, daily=daily)
    _schedules[name] = spec
    return spec


def job_type(model_or_label: type[models.Model] | str) -> JobType:
    label = model_or_label if isinstance(model_or_label, str) else model_or_label._meta.label
    try:
        return _job_types[label]
    except KeyError:
        known = ", ".join(sorted(_job_types)) or "none"
        raise LookupError(f"no job type {label!r} is registered (registered: {known})") from None


def job_types() -> list[JobType]:
    return sorted(_job_types.values(), key=lambda t: t.label)


def schedules() -> list[ScheduleSpec]:
    return sorted(_schedules.values(), key=lambda s: s.name)


def unregistered_job_models() -> list[type[models.Model]]:
    """Concrete JobBase models no app registered: nothing could run their rows."""
    return [
        m for m in apps.get_models() if issubclass(m, JobBase) and m._meta.label not in _job_types
    ]


def sync_schedules(**kwargs: Any) -> int:
    """post_migrate: create or update every registered schedule, remove ours no app registers
    any more (a renamed schedule must not go on calling a function that is gone)."""
    for spec in schedules():
        timing = (
            {"schedule_type": Schedule.DAILY}
            if spec.daily
            else {"schedule_type": Schedule.MINUTES, "minutes": spec.minutes}
        )
        Schedule.objects.update_or_create(
            name=spec.name, defaults={"func": spec.func, "repeats": -1, **timing}
        )
    stale = Schedule.objects.filter(name__startswith=SCHEDULE_PREFIX).exclude(
        name__in=list(_schedules)
    )
    stale.delete()
    return len(_schedules)
