"""Runs and results pages: parse the request, call a selector, render."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from core.decorators import readable
from core.exceptions import AssayError
from results import selectors
from results.models import STATUS_LABELS, STATUS_LETTERS, STATUS_ORDER, TestResult
from results.services.runs import get_run, resolve_run_name

RUNS_PER_PAGE = 50
RESULTS_PER_PAGE = 200


def _status_columns(counts_list: list[dict[str, int]]) -> list[str]:
    """P F E D M, then any site-defined letters that occur, so every count has a column."""
    extra = sorted({s for counts in counts_list for s in counts} - set(STATUS_ORDER))
    return STATUS_ORDER + extra


@require_GET
@readable
def run_list(request: HttpRequest) -> HttpResponse:
    runs = selectors.live_runs()
    prefix = request.GET.get("prefix", "")
    if prefix:
        runs = runs.filter(prefix=prefix)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    columns = _status_columns([run.status_counts for run in page])
    rows = [(run, [(s, run.status_counts.get(s, 0)) for s in columns]) for run in page]
    return render(
        request,
        "results/run_list.html",
        {
            "page": page,
            "rows": rows,
            "columns": columns,
            "labels": STATUS_LABELS,
            "prefix": prefix,
        },  # fmt: skip
    )


@require_GET
@readable
def run_detail(request: HttpRequest, name: str) -> HttpResponse:
    try:
        real = resolve_run_name(name)
        if real != name:  # an alias: show the real name in the address bar
            query = request.GET.urlencode()
            return redirect(f"{request.path.replace(name, real, 1)}{'?' + query if query else ''}")
        run = get_run(real)
    except AssayError as exc:
        raise Http404(exc.detail) from None
    status = "".join(ch for ch in request.GET.get("status", "") if ch in STATUS_LETTERS)
    name_prefix = request.GET.get("prefix", "").strip()
    qs = selectors.run_results(run, status=status or None, name_prefix=name_prefix or None)
    page = Paginator(qs, RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    columns = _status_columns([run.status_counts])
    return render(
        request,
        "results/run_detail.html",
        {
            "run": run,
            "page": page,
            "groups": _group_by_parent(page.object_list),
            "status": status,
            "name_prefix": name_prefix,
            "counts": [(s, STATUS_LABELS.get(s, s), run.status_counts.get(s, 0)) for s in columns],
        },
    )


def _group_by_parent(results) -> list[tuple[str, list[tuple[TestResult, str]]]]:
    """Consecutive results under the same parent (`a.b.c.test_x` -> `a.b.c`); like Pandokia,
    `/` separates levels too (`dir/file.py/test_x` -> `dir/file.py`)."""
    groups: list[tuple[str, list[tuple[TestResult, str]]]] = []
    for result in results:
        name = result.test_name
        cut = max(name.rfind("."), name.rfind("/"), 0)
        parent, leaf = name[:cut], name[cut + 1 :] if cut else name
        if groups and groups[-1][0] == parent:
            groups[-1][1].append((result, leaf))
        else:
            groups.append((parent, [(result, leaf)]))
    return groups


@require_GET
@readable
def result_detail(request: HttpRequest, pk: int) -> HttpResponse:
    result = get_object_or_404(
        TestResult.objects.select_related("run", "project"), pk=pk, run__deleted_at__isnull=True
    )
    return render(
        request,
        "results/result_detail.html",
        {"result": result, "status_label": STATUS_LABELS.get(result.status, result.status)},
    )
