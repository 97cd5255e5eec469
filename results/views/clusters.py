"""A failure cluster's page: the runs and tests one normalized failure message hit."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from core.decorators import readable
from core.exceptions import NotFound
from results.selectors.clusters import cluster, cluster_runs, cluster_tests
from results.views.triage import triage_panel

RUNS_PER_PAGE = 50
TESTS_PER_PAGE = 100


@require_safe
@readable
def cluster_page(request: HttpRequest, fingerprint: str) -> HttpResponse:
    """The cluster's totals, its runs (?rpage=) and its tests (?tpage=), each paged."""
    try:
        found = cluster(fingerprint, runs_limit=0, tests_limit=0)
    except NotFound as exc:
        raise Http404(exc.detail) from None
    runs = Paginator(cluster_runs(found), RUNS_PER_PAGE).get_page(request.GET.get("rpage"))
    tests = Paginator(cluster_tests(found), TESTS_PER_PAGE).get_page(request.GET.get("tpage"))
    # Triage and mute of the cluster: every result of this fingerprint, in every run.
    panel = triage_panel(request, fingerprint=found.fingerprint)
    return render(
        request,
        "results/cluster.html",
        {"cluster": found, "runs": runs, "tests": tests, "triage": panel},
    )
