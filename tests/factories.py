"""Small builders for test data (no factory library needed for this few)."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from results.models import ExpectedTest, Project, TestResult, TestRun


def role_user(name: str, role: str):
    """A user in the group of `role` (core.roles: CI, Triager, Staff)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(name, password="not-used-here-123")
    user.groups.add(Group.objects.get(name=role))
    return user


def project(name: str = "proj") -> Project:
    return Project.objects.get_or_create(name=name)[0]


def run(name: str = "run-1", **kwargs) -> TestRun:
    from results.services.runs import get_or_create_run

    obj, _ = get_or_create_run(name)
    if kwargs:
        TestRun.objects.filter(pk=obj.pk).update(**kwargs)
        obj.refresh_from_db()
    return obj


def result(
    run_obj: TestRun,
    test_name: str,
    status: str = "P",
    *,
    proj: str = "proj",
    host: str = "h1",
    context: str = "default",
    log: str = "",
) -> TestResult:
    return TestResult.objects.create(
        run=run_obj,
        project=project(proj),
        host=host,
        context=context,
        test_name=test_name,
        status=status,
        log=log,
        imported_at=timezone.now(),
    )


def expected(run_class: str, test_name: str, *, proj: str = "proj", host: str = "h1",
             context: str = "default") -> ExpectedTest:  # fmt: skip
    return ExpectedTest.objects.create(
        run_class=run_class, project=project(proj), host=host, context=context,
        test_name=test_name,
    )  # fmt: skip


def bulk_results(
    run_obj: TestRun,
    n: int,
    status_of,
    *,
    name_of=lambda i: f"pkg.m{i // 1000}.test_{i:06d}",
    proj: str = "p",
    host: str = "h",
    message_of=lambda i: "",
) -> TestRun:
    """n results written through the import's own bulk path (thousands in well under a
    second), then the run's counts refreshed. `message_of(i)` gives a failure's message (its
    fingerprint follows)."""
    from results.importers.messages import fingerprint
    from results.services.bulk import write_results
    from results.services.runs import refresh_counts

    project_id = project(proj).pk
    now = timezone.now()
    rows = []
    for i in range(n):
        message = message_of(i)
        rows.append(
            (run_obj.pk, project_id, host, "default", name_of(i), status_of(i), None, None, None,
             "", "", "", 0, {}, {}, now, 0, message, fingerprint(message))
        )  # fmt: skip
    write_results(rows, upsert=False)
    if connection.vendor == "postgresql":
        # Statistics for these rows now, as autovacuum gives them sooner or later: with a plan
        # made for an empty table, one PostgreSQL pass walked them once per row for minutes.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TestResult._meta.db_table}")
    refresh_counts(run_obj)
    return run_obj


def day(name: str, statuses: dict[str, str]) -> TestRun:
    """A run holding one result per {test name: status}, its counts refreshed."""
    from results.services.runs import refresh_counts

    run_obj = run(name)
    for test, status in statuses.items():
        result(run_obj, test, status)
    refresh_counts(run_obj)
    return run_obj
