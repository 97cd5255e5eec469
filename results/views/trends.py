"""The series pages: every series with a sparkline, and a series' runs and trends."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_safe

from core.decorators import readable
from core.exceptions import AssayError, NotFound
from results.models import STATUS_LABELS, STATUS_ORDER
from results.selectors import trends
from results.views.charts import series_charts, sparkline

SERIES_RUNS_PER_PAGE = 50


@require_safe
@readable
def series_list(request: HttpRequest) -> HttpResponse:
    rows = [(row, sparkline(row.rates)) for row in trends.series_list()]
    return render(
        request,
        "results/series_list.html",
        {"rows": rows, "labels": STATUS_LABELS, "spark_runs": trends.SPARK_RUNS},
    )


@require_safe
@readable
def series_detail(request: HttpRequest, name: str) -> HttpResponse:
    try:
        trend = trends.series_trend(name, request.GET.get("runs"))
    except NotFound as exc:
        raise Http404(exc.detail) from None
    except AssayError as exc:
        return HttpResponseBadRequest(exc.detail)
    runs = trends.series_runs(name)
    page = Paginator(runs, SERIES_RUNS_PER_PAGE).get_page(request.GET.get("page"))
    extra = sorted({s for run in page for s in run.status_counts} - set(STATUS_ORDER))
    columns = STATUS_ORDER + extra
    return render(
        request,
        "results/series_detail.html",
        {
            "series": name,
            "trend": trend,
            "charts": series_charts(trend.points),
            "page": page,
            "rows": [(run, [run.status_counts.get(s, 0) for s in columns]) for run in page],
            "columns": columns,
            "labels": STATUS_LABELS,
            "run_choices": sorted({trend.n, 10, 30, 100}),
        },
    )
