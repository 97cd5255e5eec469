"""HTML pages of the crash tester: the crash tests, and a crash test (its options, progress line,
checks, counts and timeline) with its JSON report. Reads go through crashtest.selectors; the
crash tests themselves are run by `manage.py crashtest`. These views parse and shape."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from core import roles
from core.decorators import readable
from core.pagination import CappedPaginator
from crashtest import selectors
from crashtest.models import CrashRun

RUNS_PER_PAGE = 25


def _run_or_404(pk: int) -> CrashRun:
    try:
        return selectors.crash_run(pk)
    except CrashRun.DoesNotExist:
        raise Http404(f"No crash test {pk}.") from None


@require_safe
@readable
def run_list(request: HttpRequest) -> HttpResponse:
    page = CappedPaginator(selectors.crash_runs(), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request, "crashtest/run_list.html", {"page": page, "rows": selectors.listed(page)}
    )


@require_safe
@readable
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(pk)
    shown = selectors.detail(run)
    return render(
        request,
        "crashtest/run_detail.html",
        {
            "run": run,
            "detail": shown,
            "timeline": mark_safe(shown.timeline),  # noqa: S308 - the renderer escapes every text
            # a path on the server: staff only, as the job logs
            "folder": run.folder if roles.has_permission(request.user, "read_job_logs") else "",
        },
    )


@require_safe
@readable
def run_report(request: HttpRequest, pk: int) -> JsonResponse:
    """The report as recorded (report.json of the crash test's folder)."""
    run = _run_or_404(pk)
    response = JsonResponse(run.report, safe=False)
    response["Content-Disposition"] = f'inline; filename="crashtest-{run.pk}.json"'
    return response
