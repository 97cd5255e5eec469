"""Migration 0010: existing results fill the known tests, durations and slowest results; on
PostgreSQL the trigram index of the search."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from results.models import KnownTest, TestResult, TestRun
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]

migration = importlib.import_module("results.migrations.0010_trends_search_index")
# What the operations use of a schema editor (SQLite's cannot open inside a test's transaction).
EDITOR = SimpleNamespace(connection=connection)


def test_existing_results_fill_known_tests_durations_and_slowest():
    run = factories.run("old-run")
    for name, seconds in [("a.one", 2.0), ("a.two", 0.5), ("a.three", None)]:
        made = factories.result(run, name)  # no refresh_counts: as before the migration
        TestResult.objects.filter(pk=made.pk).update(duration=seconds)
    factories.result(factories.run("other"), "a.one")  # the same test in another run
    KnownTest.objects.all().delete()
    migration.fill_known_tests_and_durations(apps, EDITOR)
    assert sorted(KnownTest.objects.values_list("test_name", flat=True)) == [
        "a.one", "a.three", "a.two",
    ]  # fmt: skip
    run = TestRun.objects.get(pk=run.pk)
    assert run.duration_total == 2.5
    assert [entry[3:] for entry in run.slowest] == [["a.one", 2.0], ["a.two", 0.5]]
    assert TestRun.objects.get(name="other").duration_total is None


def test_the_trigram_index_on_postgresql():
    migration.trigram_index(apps, EDITOR)  # again: IF NOT EXISTS
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [migration.TRGM_INDEX])
        [(definition,)] = cursor.fetchall()
    assert "gin_trgm_ops" in definition
