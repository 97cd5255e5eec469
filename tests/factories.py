"""Small builders for test data (no factory library needed for this few)."""

from __future__ import annotations

from django.utils import timezone

from results.models import ExpectedTest, Project, TestResult, TestRun


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
