"""The home page: the latest run of each recurring prefix, and what changed."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_safe

from core.decorators import readable
from results.models import STATUS_LABELS
from results.selectors import history, trends
from results.views.charts import line_chart

DASHBOARD_SERIES = 4  # the most recently active series get a trend chart


def _compare_url(name: str, other: str) -> str:
    try:
        return reverse("results:compare", args=[name, other])
    except NoReverseMatch:  # the compare page's route is the same shape when it is not wired
        return f"{reverse('results:run-detail', args=[name])}compare/{other}/"


@require_safe
@readable
def dashboard(request: HttpRequest) -> HttpResponse:
    summaries = history.prefix_summaries()
    rows = [
        (
            s,
            _compare_url(s.latest.name, s.previous.name) if s.latest and s.previous else "",
        )  # fmt: skip
        for s in summaries
    ]
    others = history.recent_other_runs()
    return render(
        request,
        "results/dashboard.html",
        {
            "rows": rows,
            "others": [(run, history.status_bar(run.status_counts)) for run in others],
            "labels": STATUS_LABELS,
            "series_trends": [
                (row, line_chart([trends.TrendPoint(run) for run in row.recent], "pass_rate"))
                for row in trends.series_list(limit=DASHBOARD_SERIES)
            ],
        },
    )
