"""A failure cluster's page: the runs and tests one normalized failure message hit."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from core.decorators import readable
from core.exceptions import NotFound
from results.selectors.clusters import cluster
from results.views.triage import triage_panel


@require_safe
@readable
def cluster_page(request: HttpRequest, fingerprint: str) -> HttpResponse:
    try:
        found = cluster(fingerprint)
    except NotFound as exc:
        raise Http404(exc.detail) from None
    # Triage and mute of the cluster: every result of this fingerprint, in every run.
    panel = triage_panel(request, fingerprint=found.fingerprint)
    return render(request, "results/cluster.html", {"cluster": found, "triage": panel})
