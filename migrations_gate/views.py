"""HTML pages of the migration gate: the checks, a check (its migrations by datasets, findings
and summary, a recheck for staff), a dataset's log in turbo-hipster's viewer and raw, and the
datasets and projects. Reads go through migrations_gate.selectors, the recheck through
migrations_gate.services.checks; these views parse and shape."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from core import roles
from core.decorators import permission_required, readable
from core.exceptions import AssayError
from migrations_gate import selectors
from migrations_gate.models import Check, Outcome
from migrations_gate.services import checks as check_service

CHECKS_PER_PAGE = 25


def _check_or_404(pk: int) -> Check:
    try:
        return selectors.check(pk)
    except Check.DoesNotExist:
        raise Http404(f"No check {pk}.") from None


@require_safe
@readable
def check_list(request: HttpRequest) -> HttpResponse:
    names = selectors.project_names()
    project = request.GET.get("project", "")
    project = project if project in names else ""
    outcome = request.GET.get("outcome", "")
    outcome = outcome if outcome in Outcome.values else ""
    rows = selectors.checks(project=project, outcome=outcome)
    page = Paginator(rows, CHECKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "migrations_gate/check_list.html",
        {
            "page": page,
            "project": project,
            "outcome": outcome,
            "projects": names,
            "outcomes": Outcome.values,
            "outcome_counts": selectors.outcome_counts(),
        },
    )


@require_safe
@readable
def check_detail(request: HttpRequest, pk: int) -> HttpResponse:
    check = _check_or_404(pk)
    took = None
    if check.started_at and check.finished_at:
        took = (check.finished_at - check.started_at).total_seconds()
    return render(
        request,
        "migrations_gate/check_detail.html",
        {
            "check": check,
            "took": took,
            "rechecks": selectors.rechecks(check),
            "matrix": selectors.matrix(check),
            "findings": selectors.dataset_findings(check),
            "logs": selectors.dataset_logs(check),
            "can_recheck": roles.has_permission(request.user, "submit_gate_check"),
            # job.log holds the gate's own side (checkout, pip): staff only, as every job log
            "job_log": (
                "/" + check.log_url.lstrip("/")
                if roles.has_permission(request.user, "read_job_logs")
                else ""
            ),
        },
    )


@require_POST
@permission_required("submit_gate_check", "Rechecking")
def check_recheck(request: HttpRequest, pk: int) -> HttpResponse:
    """The CI role and staff: check the same project and ref again; to the new check's page."""
    try:
        again = check_service.recheck(pk)
    except AssayError as exc:
        messages.error(request, exc.detail)
        return redirect("migrations_gate:check-detail", pk=pk)
    messages.success(request, f"Check {again.pk} queued: a recheck of check {pk}.")
    return redirect("migrations_gate:check-detail", pk=again.pk)


def _log_or_404(pk: int, dataset: str) -> tuple[Check, Path]:
    check = _check_or_404(pk)
    path = selectors.dataset_log(check, dataset)
    if path is None:
        raise Http404(f"Check {pk} has no log of a dataset named {dataset!r}.")
    return check, path


@require_safe
@readable
def dataset_log(request: HttpRequest, pk: int, dataset: str) -> HttpResponse:
    check, path = _log_or_404(pk, dataset)
    record = selectors.record_of(check, dataset)
    return render(
        request,
        "migrations_gate/dataset_log.html",
        {
            "check": check,
            "dataset": dataset,
            "record": record,
            "log": selectors.read_log(
                path, (record or {}).get("steps"), limit=selectors.LOG_LINES_SHOWN
            ),
            "limit": selectors.LOG_LINES_SHOWN,
        },
    )


@require_safe
@readable
def dataset_log_raw(request: HttpRequest, pk: int, dataset: str) -> FileResponse:
    """The whole log as a file, streamed."""
    _, path = _log_or_404(pk, dataset)
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=f"gate-check-{pk}-{dataset}.log",
        content_type="text/plain; charset=utf-8",
    )
    return response


@require_safe
@readable
def dataset_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "migrations_gate/dataset_list.html",
        {"datasets": selectors.datasets(), "projects": selectors.projects()},
    )
