"""The compare page (regressions, fixes, new, vanished and missing tests of two runs) and the
staff-only "not expected any more" action on a missing test."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from core import roles
from core.decorators import permission_required, readable
from core.exceptions import AssayError
from results.models import STATUS_LABELS, TestResult, TestRun
from results.selectors import browse
from results.selectors.compare import previous_run
from results.selectors.triage import current_mutes
from results.services.expected import unexpect
from results.views.runs import RESULTS_PER_PAGE, KnownCountPaginator, resolve_or_404

KINDS = [
    ("regressions", "Regressions", "passed before; fail, error or missing now"),
    ("fixes", "Fixes", "failed, errored or missing before; pass now"),
    ("new", "New", "not in the other run"),
    ("vanished", "Vanished", "in the other run, not in this one"),
    ("missing", "Missing", "expected tests this run lacks (M records)"),
]


class LazyRows(Sequence):
    """What a Paginator needs of a comparison: its length (known from the counts) and the
    slice of one page, fetched only when asked."""

    def __init__(self, count: int, fetch: Callable[[int, int], list]) -> None:
        self._count, self._fetch = count, fetch

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, _ = index.indices(self._count)
            return self._fetch(start, max(stop - start, 0))
        return self._fetch(index, 1)[0]


def _compare_url(run: str, other: str | None, query: str = "") -> str:
    if other is None:
        url = reverse("results:compare-previous", args=[run])
    else:
        url = reverse("results:compare", args=[run, other])
    return f"{url}?{query}" if query else url


def _refuse(request: HttpRequest, run: TestRun, message: str, status: int) -> HttpResponse:
    """The compare page with no comparison: why, and a box to pick another run."""
    return render(
        request,
        "results/compare.html",
        {"run": run, "refused": message, "run_choices": browse.recent_run_names(run)},
        status=status,
    )


@require_safe
@readable
def compare_runs(request: HttpRequest, name: str, other: str | None = None) -> HttpResponse:
    real, run = resolve_or_404(name)
    if other is None and request.GET.get("compare", "").strip():
        # The run page's "compare with" box: give the comparison its own address (checked
        # first: a name with a "/" in it has no address at all).
        wanted, _ = resolve_or_404(request.GET["compare"].strip())
        return redirect(_compare_url(real, wanted))
    if other is not None:
        other_real, other_run = resolve_or_404(other)
        if run is None or other_run is None:  # aliases: bookmarkable real names instead
            return redirect(_compare_url(real, other_real, request.GET.urlencode()))
    elif run is None:
        return redirect(_compare_url(real, None, request.GET.urlencode()))
    else:
        other_run = previous_run(run)
        if other_run is None:
            why = (
                f"{run.name} is the first run of its series {run.series}: there is no earlier "
                "run to compare with."
                if run.series
                else f"{run.name} is a run of no series, so it has no previous run."
            )
            return _refuse(request, run, f"{why} Pick a run to compare it with.", 404)
    if other_run.pk == run.pk:
        return _refuse(request, run, f"That is {run.name} itself: pick another run.", 400)

    mutes = current_mutes()
    counts = browse.cached_compare_counts(run, other_run, mutes)
    missing = run.status_counts.get("M", 0)
    sizes = {k: getattr(counts, k) for k, _, _ in KINDS if k != "missing"}
    sizes["missing"] = missing
    kind = request.GET.get("kind", "regressions")
    if kind not in sizes:
        kind = "regressions"
    if kind == "missing":
        paginator = KnownCountPaginator(browse.missing_results(run), RESULTS_PER_PAGE, missing)
    else:
        rows = LazyRows(
            sizes[kind],
            lambda offset, limit: browse.compared_rows(
                run, other_run, kind, offset=offset, limit=limit, mutes=mutes
            ),
        )
        paginator = KnownCountPaginator(rows, RESULTS_PER_PAGE, sizes[kind])
    page = paginator.get_page(request.GET.get("page"))
    here = _compare_url(run.name, other_run.name)
    return render(
        request,
        "results/compare.html",
        {
            "run": run,
            "other": other_run,
            "kind": kind,
            "tabs": [
                (k, label, help_text, sizes[k], f"{here}?{urlencode({'kind': k})}")
                for k, label, help_text in KINDS
            ],
            "page": page,
            "labels": STATUS_LABELS,
            "swap_url": _compare_url(other_run.name, run.name, urlencode({"kind": kind})),
            "run_choices": browse.recent_run_names(run),
            "can_unexpect": roles.has_permission(request.user, "triage"),
            "muted_regressions": counts.muted,
        },
    )


@require_POST
@permission_required("triage", "Changing the expected tests")
def unexpect_result(request: HttpRequest, pk: int) -> HttpResponse:
    """Triagers: the missing test is not expected any more (see services.expected)."""
    result = get_object_or_404(
        TestResult.objects.select_related("run"), pk=pk, run__deleted_at__isnull=True
    )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("results:run-detail", args=[result.run.name]) + "?status=M"
    try:
        summary = unexpect(result)
    except AssayError as exc:
        messages.error(request, exc.detail)
        return redirect(back)
    where = ", ".join(summary.classes) if summary.classes else "no class (it was not listed)"
    messages.success(
        request,
        f"{summary.test_name} is not expected any more: removed from {where}, "
        f"and its missing record in {summary.run.name} is gone.",
    )
    return redirect(back)
