"""core.registry: apps register their jobs and schedules; core runs and schedules them."""

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils.module_loading import import_string
from django_q.models import Schedule

from core import registry
from core.models import Engine, JobBase
from core.tasks import REAPER_SCHEDULE_NAME
from datagen.models import Chunk
from datagen.services.chunks import work_chunk
from results.models import CleanJob


def test_every_job_model_is_registered_by_its_app():
    labels = {t.label for t in registry.job_types()}
    assert labels == {
        "datagen.Chunk",
        "datagen.DatagenRun",
        "migrations_gate.Check",
        "querygen.QuerygenRun",
        "results.CleanJob",
        "results.FlakinessJob",
        "results.SearchIndexJob",
    }
    assert registry.unregistered_job_models() == []
    assert registry.job_type(Chunk).execute.path == "datagen.services.chunks.work_chunk"
    assert registry.job_type("datagen.Chunk").model is Chunk


def test_every_handler_given_by_its_path_imports():
    """Handlers given as dotted paths load when first called: a typo would surface only in a
    worker, so every one is imported here."""
    lazy = [
        handler
        for job_type in registry.job_types()
        for handler in (job_type.execute, job_type.after_finish, job_type.sweep)
        if isinstance(handler, registry.Lazy)
    ]
    assert len(lazy) >= 5
    for handler in lazy:
        assert callable(import_string(handler.path)), handler


def test_a_lazy_handler_imports_its_function_when_first_called(monkeypatch):
    calls = []
    monkeypatch.setattr("tests.core.test_registry._record", calls.append, raising=False)
    handler = registry.Lazy("tests.core.test_registry._record")
    assert handler.__module__ == "tests.core.test_registry"
    handler("job")
    assert calls == ["job"]
    with pytest.raises(ImportError):
        registry.Lazy("tests.core.test_registry.no_such_function")()


def test_an_unknown_job_type_names_the_registered_ones():
    with pytest.raises(LookupError, match=r"no job type 'x\.Y'.*results\.CleanJob"):
        registry.job_type("x.Y")


def test_only_concrete_job_models_can_be_registered():
    with pytest.raises(ImproperlyConfigured, match="not a concrete JobBase"):
        registry.register_job(Engine, execute=print)
    with pytest.raises(ImproperlyConfigured, match="not a concrete JobBase"):
        registry.register_job(JobBase, execute=print)


def test_a_second_app_registering_the_same_model_is_refused(monkeypatch):
    monkeypatch.setattr(registry, "_job_types", dict(registry._job_types))
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        registry.register_job(CleanJob, execute=work_chunk)


def test_schedules_need_our_prefix_and_one_timing():
    with pytest.raises(ImproperlyConfigured, match="start with 'assay.'"):
        registry.register_schedule("sweep", "x.y", every_minutes=1)
    with pytest.raises(ImproperlyConfigured, match="either every_minutes or daily"):
        registry.register_schedule("assay.x", "x.y", every_minutes=1, daily=True)
    with pytest.raises(ImproperlyConfigured, match="either every_minutes or daily"):
        registry.register_schedule("assay.x", "x.y")


def test_a_job_model_nobody_registered_fails_the_system_check(monkeypatch):
    monkeypatch.setattr(registry, "_job_types", dict(registry._job_types))
    del registry._job_types["results.CleanJob"]
    errors = [e for e in run_checks() if e.id == "core.E100"]
    assert [e.msg for e in errors] == [
        "results.CleanJob is a job model, but no app registered how to run it."
    ]


@pytest.mark.django_db
def test_migrate_creates_every_schedule_and_removes_ours_no_app_registers(monkeypatch, settings):
    assert set(Schedule.objects.values_list("name", flat=True)) >= {
        s.name for s in registry.schedules()
    }
    Schedule.objects.create(name="assay.renamed_long_ago", func="gone.tasks.f")
    Schedule.objects.create(name="site.own", func="site.tasks.f")  # not ours: kept
    settings.ASSAY_QUERYGEN_TICK_MINUTES = 7
    call_command("migrate", verbosity=0)
    names = set(Schedule.objects.values_list("name", flat=True))
    assert "assay.renamed_long_ago" not in names and "site.own" in names
    assert Schedule.objects.get(name="assay.querygen.start_due_runs").minutes == 7
    reaper = Schedule.objects.get(name=REAPER_SCHEDULE_NAME)
    assert (reaper.func, reaper.schedule_type, reaper.minutes) == (
        "core.tasks.reap_jobs",
        Schedule.MINUTES,
        1,
    )
