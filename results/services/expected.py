"""Expected and missing tests (Pandokia's gen_expected / check_expected).

Both are one INSERT ... SELECT each, so 100,000 expected tests never pass through Python.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from core.exceptions import AssayError, Conflict, NotFound
from results.models import ExpectedTest, TestResult, TestRun
from results.services.flaky import refresh_flaky_on_commit
from results.services.notify import notify_after_check_expected
from results.services.runs import get_or_create_run, get_run, refresh_counts

RUN_CLASS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def validate_run_class(run_class: str) -> str:
    run_class = (run_class or "").strip()
    if not RUN_CLASS_RE.match(run_class):
        raise AssayError(
            f"{run_class[:80]!r} is not a valid class of runs: use letters, digits, _ . - "
            "(at most 100 characters).",
            code="bad_run_class",
        )
    return run_class


@dataclass
class ExpectedSummary:
    run_class: str
    run: TestRun
    added: int  # gen_expected: new expected tests; check_expected: new M records
    total_expected: int


def gen_expected(run_class: str, run_name: str) -> ExpectedSummary:
    """Add every test of the run to the class's expected tests. Adds only, never removes."""
    run_class = validate_run_class(run_class)
    run = get_run(run_name)
    e, r = ExpectedTest._meta.db_table, TestResult._meta.db_table
    sql = (
        f"INSERT INTO {e} (run_class, project_id, host, context, test_name, created_at) "  # noqa: S608
        f"SELECT %s, project_id, host, context, test_name, %s FROM {r} WHERE run_id = %s "
        "ON CONFLICT DO NOTHING"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [run_class, timezone.now(), run.pk])
        added = max(cursor.rowcount, 0)
    total = ExpectedTest.objects.filter(run_class=run_class).count()
    return ExpectedSummary(run_class, run, added, total)


def check_expected(run_class: str, run_name: str) -> ExpectedSummary:
    """Enter an M (missing) record for every expected test the run lacks. Idempotent.

    A run that does not exist yet is created: when a whole night's tests failed to report,
    every expected test is missing, and that is the case this exists for. Aliases such as
    daily_latest must name an existing run."""
    run_class = validate_run_class(run_class)
    if not ExpectedTest.objects.filter(run_class=run_class).exists():
        raise AssayError(
            f"No tests are expected in class {run_class!r}; "
            f"fill it first with gen_expected {run_class} RUN.",
            code="unknown_run_class",
        )
    e, r = ExpectedTest._meta.db_table, TestResult._meta.db_table
    sql = (
        f"INSERT INTO {r} (run_id, project_id, host, context, test_name, status, "  # noqa: S608
        "location, test_runner, log, log_size, tda, tra, imported_at) "
        f"SELECT %s, e.project_id, e.host, e.context, e.test_name, 'M', '', '', %s, %s, %s, %s, %s "
        f"FROM {e} e WHERE e.run_class = %s AND NOT EXISTS ("
        f"SELECT 1 FROM {r} t WHERE t.run_id = %s AND t.project_id = e.project_id "
        "AND t.host = e.host AND t.context = e.context AND t.test_name = e.test_name)"
    )
    with transaction.atomic():
        run, _ = get_or_create_run(run_name, lock=True)
        # The M record says which class expected it, so "not expected any more" knows what
        # to remove.
        log = f"Missing: expected in class {run_class}, not reported in {run.name}."
        tra = json.dumps({"expected_in": run_class})
        with connection.cursor() as cursor:
            cursor.execute(
                sql, [run.pk, log, len(log.encode()), "{}", tra, timezone.now(), run_class, run.pk]
            )
            added = max(cursor.rowcount, 0)
        refresh_counts(run)
        notify_after_check_expected(run, run_class)  # after commit, when enabled
        refresh_flaky_on_commit([run])  # M records change a recurring run's last statuses
    total = ExpectedTest.objects.filter(run_class=run_class).count()
    return ExpectedSummary(run_class, run, added, total)


@dataclass
class UnexpectSummary:
    run: TestRun
    test_name: str
    classes: list[str]  # the classes the test was removed from
    removed: int  # expected-test rows deleted


def unexpect(result: TestResult) -> UnexpectSummary:
    """ "Not expected any more": remove a missing test from the expected list and drop its M
    record, so check_expected stops entering it. One transaction, the run locked like an
    import, so the cached counts stay right.

    The M record names the class that expected it (tra["expected_in"]). M records made before
    that field existed do not say: the test is then removed from every class, since the person
    asking means "this test is gone", not "gone from one class" (the message lists them)."""
    with transaction.atomic():
        run = TestRun.objects.select_for_update().get(pk=result.run_id)
        # Read again under the lock: a real result may have replaced the M record meanwhile.
        current = TestResult.objects.filter(pk=result.pk, run=run).first()
        if current is None:
            raise NotFound(
                f"{result.test_name} has no missing record in {run.name} any more.",
                code="no_such_result",
            )
        if current.status != "M":
            raise Conflict(
                f"{current.test_name} is not missing in {run.name} (status {current.status}): "
                "only missing (M) records can be marked not expected any more.",
                code="not_missing",
            )
        expected = ExpectedTest.objects.filter(
            project_id=current.project_id,
            host=current.host,
            context=current.context,
            test_name=current.test_name,
        )
        run_class = (current.tra or {}).get("expected_in")
        if run_class:
            expected = expected.filter(run_class=run_class)
        classes = sorted(set(expected.values_list("run_class", flat=True)))
        removed, _ = expected.delete()
        current.delete()
        refresh_counts(run)
        refresh_flaky_on_commit([run])
    return UnexpectSummary(run=run, test_name=current.test_name, classes=classes, removed=removed)
