"""A test across runs: the test page with its history strip, flaky tests, search by name."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from core.decorators import readable
from results.models import STATUS_LABELS, TestResult
from results.selectors import history
from results.selectors import search as name_search
from results.selectors.triage import mutes_of_tests, triages_of_result
from results.views.runs import KnownCountPaginator
from results.views.triage import triage_panel

FLAKY_PER_PAGE = 100
SEARCH_PER_PAGE = 50


@require_safe
@readable
def test_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A result: its log and attributes, and its test's history over the last N runs."""
    result = get_object_or_404(
        TestResult.objects.select_related("run", "project"), pk=pk, run__deleted_at__isnull=True
    )
    n = history.history_runs(request.GET.get("n"))
    triages = triages_of_result(result)
    test_panel = triage_panel(
        request,
        project=result.project.name,
        project_id=result.project_id,
        test_name=result.test_name,
        narrow={"host": result.host, "context": result.context},
        known=triages,
    )
    return render(
        request,
        "results/result_detail.html",
        {
            "result": result,
            "status_label": STATUS_LABELS.get(result.status, result.status),
            "history": history.result_history(result, n),
            "n": n,
            "n_query": f"?n={n}" if n != settings.ASSAY_HISTORY_RUNS else "",
            "history_choices": sorted({settings.ASSAY_HISTORY_RUNS, 30, history.HISTORY_MAX_RUNS}),
            "flaky": history.flaky_entry(result),
            "labels": STATUS_LABELS,
            "muted": any(t.is_muted() for t in triages),
            # The panel of the test on any host and context; narrower triages are listed.
            "test_triage": test_panel,
            "other_triages": [
                t
                for t in triages
                if not t.is_cluster and t.pk != getattr(test_panel["triage"], "pk", None)
            ],
            "cluster_triage": (
                triage_panel(request, fingerprint=result.fingerprint, known=triages)
                if result.fingerprint
                else None
            ),
        },
    )


@require_safe
@readable
def flaky_list(request: HttpRequest) -> HttpResponse:
    """Flaky tests; muted ones are hidden and counted (?muted=1 lists them, marked)."""
    # ?prefix= was the name before series: old links keep working.
    series = (request.GET.get("series") or request.GET.get("prefix", "")).strip()
    project = request.GET.get("project", "").strip()
    show_muted = request.GET.get("muted") == "1"
    filters = {"series": series or None, "project": project or None}
    total, n_muted = history.flaky_counts(**filters)
    qs = history.flaky_tests(**filters, muted=show_muted)
    # The counts query stands in for the paginator's COUNT(*).
    paginator = KnownCountPaginator(qs, FLAKY_PER_PAGE, total if show_muted else total - n_muted)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "results/flaky.html",
        {
            "page": page,
            "series": series,
            "project": project,
            "show_muted": show_muted,
            "n_muted": n_muted,
            "all_series": history.flaky_series(),
            "projects": history.flaky_projects(series or None),
            "window": settings.ASSAY_HISTORY_RUNS,
            "threshold": settings.ASSAY_FLAKY_FLIPS,
            "labels": STATUS_LABELS,
        },
    )


@require_safe
@readable
def search(request: HttpRequest) -> HttpResponse:
    """Tests whose name contains the text (any case), one row per test with its latest status
    in each series. The old parameters (run, prefix, status) are ignored."""
    q = request.GET.get("q", "").strip()
    project = request.GET.get("project", "").strip()
    context = {"q": q, "project": project, "labels": STATUS_LABELS}
    if q:
        paginator = Paginator(
            name_search.matching_tests(q, project=project or None), SEARCH_PER_PAGE
        )
        page = paginator.get_page(request.GET.get("page"))
        tests = list(page.object_list)
        mutes = mutes_of_tests(tests)  # one query for the page's tests
        found = [
            (f, mutes.get((t.project_id, t.host, t.context, t.test_name)))
            for t, f in zip(tests, name_search.latest_statuses(tests), strict=True)
        ]
        context.update(page=page, found=found)
        context["lookback"] = name_search.LOOKBACK_RUNS
    return render(request, "results/search.html", context)
