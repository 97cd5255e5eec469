"""HTML pages of datagen: the list of runs, one run with its chunk map, and the JSON the map
refreshes itself from. Reads go through datagen.selectors; these views only shape them."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core import roles
from core.decorators import readable
from datagen import selectors
from datagen.models import LSST_STATES, DatagenRun

RUNS_PER_PAGE = 50
STATES = list(LSST_STATES.values())  # target, assigned, completed, limbo: the legend's order
BAR_ORDER = ["completed", "limbo", "assigned", "target"]  # done work first, from the left
NAME_OF_LETTER = {letter: name for name, letter in selectors.STATE_LETTERS.items()}


def human_duration(seconds: float | None) -> str:
    """45 s, 3 min 20 s, 2 h 5 min, 3 d 4 h: two units at most, a person reads it at a glance."""
    if seconds is None:
        return "unknown"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s} s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h} h {m} min"
    d, h = divmod(h, 24)
    return f"{d} d {h} h"


def _bar(progress: selectors.RunProgress) -> list[tuple[str, int, float]]:
    total = progress.total or 1
    return [
        (name, progress.counts[name], 100 * progress.counts[name] / total)
        for name in BAR_ORDER
        if progress.counts[name]
    ]


def _display(progress: selectors.RunProgress) -> dict[str, str]:
    """The progress figures as the page prints them; the JS copies these texts as they are,
    so the numbers are formatted in one place."""
    rate = progress.rows_per_second
    if progress.finished:
        left = "none (finished)"
    elif progress.phase in ("queued", "setting up"):
        left = "unknown until the first chunks finish"
    else:
        left = human_duration(progress.seconds_left)
    return {
        "percent": f"{progress.percent:.1f} %",
        "done": f"{progress.done:,} of {progress.total:,} chunks",
        "rows": f"{progress.rows:,}",
        "bytes": filesizeformat(progress.bytes),
        "rate": f"{rate:,.0f} rows/s" if rate else "–",
        "time_left": left,
    }


@require_safe
@readable
def run_list(request: HttpRequest) -> HttpResponse:
    runs = DatagenRun.objects.select_related("load_engine").order_by("-created_at", "-pk")
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    progress_of = selectors.list_progress(list(page))
    rows = [(run, progress_of[run.pk], _bar(progress_of[run.pk])) for run in page]
    return render(request, "datagen/run_list.html", {"page": page, "rows": rows})


@require_safe
@readable
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(DatagenRun.objects.select_related("load_engine"), pk=pk)
    progress = selectors.run_progress(run)
    ids, letters = selectors.chunk_states(run)
    state_of = dict(zip(ids, letters, strict=True))
    map_rows = [
        (row.label, [(c, NAME_OF_LETTER[state_of[c]]) for c in row.chunk_ids])
        for row in selectors.chunk_map_rows(run, ids)
    ]
    return render(
        request,
        "datagen/run_detail.html",
        {
            "run": run,
            "progress": progress,
            "display": _display(progress),
            "counts": [(name, progress.counts[name]) for name in STATES],
            "bar": _bar(progress),
            "map_rows": map_rows,
            "limbo_more": progress.counts["limbo"] - len(progress.limbo),
            "can_read_log": roles.has_permission(request.user, "read_job_logs"),
        },
    )


@never_cache
@require_safe
@readable
def run_progress_json(request: HttpRequest, pk: int) -> JsonResponse:
    run = get_object_or_404(DatagenRun, pk=pk)
    progress = selectors.run_progress(run)
    ids, letters = selectors.chunk_states(run)
    return JsonResponse(
        {
            "phase": progress.phase,
            "counts": progress.counts,
            "total": progress.total,
            "percent": round(progress.percent, 2),
            "rows": progress.rows,
            "bytes": progress.bytes,
            "rows_per_second": progress.rows_per_second,
            "seconds_left": progress.seconds_left,
            "finished": progress.finished,
            "chunk_ids": ids,
            "states": letters,
            "display": _display(progress),
        }
    )
