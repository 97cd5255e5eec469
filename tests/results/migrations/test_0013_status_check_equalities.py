"""Migrations 0012 and 0014 (bytewise identity columns of results and triages on PostgreSQL)
and 0013 (the status check as ORed equalities): both ways, with results in the table."""

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from results.models import TestResult
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_dependent]

BEFORE, LATEST = (
    ("results", "0011_search_index_job"),
    ("results", "0014_bytewise_triage_identity"),
)


def migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def collation(column: str, table: str = "results_testresult") -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_name = %s AND column_name = %s",
            [table, column],
        )
        return cursor.fetchone()[0]


def insert_status(run_id: int, project_id: int, status: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO results_testresult (run_id, project_id, host, context, test_name, "
            "status, location, test_runner, log, log_size, tda, tra, imported_at, retries, "
            "message, fingerprint) VALUES (%s, %s, '', '', %s, %s, '', '', '', 0, '{}', '{}', "
            "CURRENT_TIMESTAMP, 0, '', '')",
            [run_id, project_id, f"t.{status}", status],
        )


def test_both_ways_with_results_kept_and_the_check_enforced():
    run = factories.run("r-1")
    for name, status in [("b.test", "P"), ("A.test", "F"), ("a.test", "x")]:
        factories.result(run, name, status)
    project_id = factories.project().pk
    try:
        migrate(BEFORE)
        if connection.vendor == "postgresql":
            assert collation("test_name") is None  # the database's own
            assert collation("test_name", "results_triage") is None
        insert_status(run.pk, project_id, "z")
        migrate(LATEST)
        if connection.vendor == "postgresql":
            for table in ("results_testresult", "results_triage"):
                assert {collation(c, table) for c in ("test_name", "host", "context")} == {"C"}
        rows = TestResult.objects.filter(run=run).order_by("test_name")
        # bytewise on both databases: upper case before lower case
        assert [(r.test_name, r.status) for r in rows] == [
            ("A.test", "F"), ("a.test", "x"), ("b.test", "P"), ("t.z", "z"),
        ]  # fmt: skip
        for bad in ("X", "pp", ""):
            with pytest.raises((IntegrityError, DataError)):  # PostgreSQL: varchar(1)
                insert_status(run.pk, project_id, bad)
        insert_status(run.pk, project_id, "M")
    finally:
        migrate(LATEST)
