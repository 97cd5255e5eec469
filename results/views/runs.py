"""Runs and results pages: parse the request, call a selector, render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from core import roles
from core.decorators import readable
from core.exceptions import AssayError
from results import selectors
from results.models import STATUS_LABELS, STATUS_LETTERS, STATUS_ORDER, TestResult, TestRun
from results.selectors import browse
from results.selectors.clusters import SAMPLE_TESTS, run_clusters
from results.selectors.compare import next_run, previous_run
from results.selectors.triage import current_mutes, muted_counts, muted_names
from results.services.runs import get_run, resolve_run_name

RUNS_PER_PAGE = 50
RESULTS_PER_PAGE = 200
TREE_NODES_PER_PAGE = 500  # a level of flat names can hold a whole run
IMPORTS_SHOWN = 20  # a daily run takes an import per CI job: the newest are shown
CLUSTERS_SHOWN = 30  # the biggest failure clusters on a run's page; the API lists them all


def _status_columns(counts_list: list[dict[str, int]]) -> list[str]:
    """P F E D M, then any site-defined letters that occur, so every count has a column."""
    extra = sorted({s for counts in counts_list for s in counts} - set(STATUS_ORDER))
    return STATUS_ORDER + extra


@require_safe
@readable
def run_list(request: HttpRequest) -> HttpResponse:
    """Runs newest first; ?series= (newest start first), ?branch=, ?commit= (or its start),
    ?attr=KEY:VALUE (repeatable), ?prefix= (a recurring prefix)."""
    runs = selectors.live_runs()
    prefix = request.GET.get("prefix", "")
    if prefix:
        runs = runs.filter(prefix=prefix)
    error = ""
    try:
        attributes = selectors.parse_attribute_filters(request.GET.getlist("attr"))
    except AssayError as exc:
        attributes, error = (), exc.detail
    wanted = selectors.RunFilter(
        series=request.GET.get("series", "").strip(),
        branch=request.GET.get("branch", "").strip(),
        commit=request.GET.get("commit", "").strip(),
        attributes=attributes,
    )
    runs = selectors.filter_runs(runs, wanted)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    columns = _status_columns([run.status_counts for run in page])
    # The raw counts stay as imported; the muted part of F, E and M is said beside them.
    muted = muted_counts(run.pk for run in page)
    rows = [
        (run, [(s, run.status_counts.get(s, 0), muted.get(run.pk, {}).get(s, 0)) for s in columns])
        for run in page
    ]
    return render(
        request,
        "results/run_list.html",
        {
            "page": page,
            "rows": rows,
            "columns": columns,
            "labels": STATUS_LABELS,
            "prefix": prefix,
            "wanted": wanted,
            "attr_text": " ".join(f"{k}:{v}" for k, v in wanted.attributes),
            "filter_error": error,
            "filtered": bool(wanted) or bool(prefix),
        },  # fmt: skip
    )


class KnownCountPaginator(Paginator):
    """A paginator told its count: the tree's (or the run's cached) counts already say how
    many rows a listing has, so no COUNT(*) runs over a big run a second time."""

    def __init__(self, object_list, per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count


def resolve_or_404(name: str) -> tuple[str, TestRun | None]:
    """(real name, run): the run is None when `name` is an alias to redirect from."""
    try:
        real = resolve_run_name(name)
        return real, (get_run(real) if real == name else None)
    except AssayError as exc:
        raise Http404(exc.detail) from None


def _query(**params: str | None) -> str:
    """`?a=1&b=2` without the empty parameters (`compare` is kept even when empty: it means
    "no comparison", unlike its absence)."""
    kept = {k: v for k, v in params.items() if v or (k == "compare" and v is not None)}
    return f"?{urlencode(kept, safe='/')}" if kept else "?"


def _comparison(request: HttpRequest, run: TestRun, previous: TestRun | None):
    """The run the tree's +/- is against: ?compare=NAME (aliases allowed), ?compare= for
    none, the previous run of the prefix by default. Returns (run or None, error or "")."""
    if "compare" not in request.GET:
        return previous, ""
    wanted = request.GET["compare"].strip()
    if not wanted:
        return None, ""
    try:
        return get_run(wanted), ""
    except AssayError as exc:
        return None, exc.detail


def _delta_class(status: str, delta: int) -> str:
    """Green for the better direction: more passes, fewer failures, errors and missing."""
    if status == "P":
        return "better" if delta > 0 else "worse"
    if status in ("F", "E", "M"):
        return "worse" if delta > 0 else "better"
    return "neutral"


def _signed(n: int) -> str:
    """+3, −2 (a real minus sign), or "" for no change."""
    return f"+{n}" if n > 0 else f"\u2212{-n}" if n < 0 else ""


def _tree_rows(nodes, columns: list[str], links, keep: dict, muted: set[str]) -> list[dict]:
    """What each row of the tree shows: its link, counts, changes and bar, and whether a
    leaf's test is muted."""
    rows = []
    for node in nodes:
        message = ""
        if node.is_leaf:
            link = links.get(node.path)
            if link is None:
                url = ""
            elif link.result_id is not None:
                url = reverse("results:result-detail", args=[link.result_id])
                message = link.message
            else:  # several results of that name (hosts, contexts, projects): list them
                base = reverse("results:run-detail", args=[link.run.name])
                url = base + _query(prefix=node.path, status=keep["status"])
        else:
            url = _query(prefix=node.path, **keep)
        total = node.total
        cells = []
        for s in columns:
            d = node.delta.get(s, 0)
            cells.append(
                {"s": s, "n": node.counts.get(s, 0), "d": _signed(d), "cls": _delta_class(s, d)}
            )
        bar = [(s, 100 * node.counts[s] / total) for s in columns if node.counts.get(s)]
        rows.append(
            {
                "node": node,
                "url": url,
                "cells": cells,
                "total": total,
                "total_delta": _signed(sum(node.delta.values())),
                "bar": bar,
                "gone": total == 0,
                "muted": node.is_leaf and node.path in muted,
                "message": message,
            }
        )
    return rows


@require_safe
@readable
def run_detail(request: HttpRequest, name: str) -> HttpResponse:
    real, run = resolve_or_404(name)
    if run is None:  # an alias: show the real name in the address bar
        query = request.GET.urlencode()
        return redirect(f"{request.path.replace(name, real, 1)}{'?' + query if query else ''}")
    status = "".join(ch for ch in request.GET.get("status", "") if ch in STATUS_LETTERS)
    prefix = request.GET.get("prefix", "").strip()
    level, crumbs = browse.split_prefix(prefix)
    previous, following = previous_run(run), next_run(run)
    other, compare_error = _comparison(request, run, previous)
    keep = {"status": status}
    if "compare" in request.GET:
        keep["compare"] = request.GET["compare"]

    nodes = browse.nodes_under(browse.cached_tree_level(run, level, other), prefix)
    node_page = Paginator(nodes, TREE_NODES_PER_PAGE).get_page(request.GET.get("tpage"))
    links = browse.leaf_links(run, other, node_page.object_list)
    leaves = [node.path for node in node_page.object_list if node.is_leaf and node.total]
    mutes = current_mutes()  # once for the page's three lists
    muted = muted_names(run.pk, leaves, mutes)
    muted_here = muted_counts([run.pk], mutes).get(run.pk, {})
    columns = _status_columns([run.status_counts, other.status_counts if other else {}])

    # Below the tree: the results themselves, for a status filter or a starts-with filter
    # that stops inside a name (a leaf with several results lands here).
    page = None
    if status or (prefix and not prefix.endswith(browse.SEPARATORS)):
        qs = selectors.run_results(
            run, status=status or None, name_prefix=prefix or None, mutes=mutes
        )
        count = browse.count_under(nodes, status)
        page = KnownCountPaginator(qs, RESULTS_PER_PAGE, count).get_page(request.GET.get("page"))
    imports, imports_total = selectors.run_imports(run, IMPORTS_SHOWN)
    # The clusters summarize the whole run: shown at its root, not on every level below.
    clusters = run_clusters(run) if not prefix and _has_failures(run) else []
    return render(
        request,
        "results/run_detail.html",
        {
            "run": run,
            "other": other,
            "compare_error": compare_error,
            "previous": previous,
            "next": following,
            "neighbour_query": _query(prefix=prefix, status=status).rstrip("?"),
            "status": status,
            "name_prefix": prefix,
            "level": level,
            "crumbs": [(seg, _query(prefix=path, **keep)) for seg, path in crumbs],
            "root_query": _query(**keep),
            "column_labels": [(s, STATUS_LABELS.get(s, s)) for s in columns],
            "tree": _tree_rows(node_page.object_list, columns, links, keep, muted),
            "node_page": node_page,
            "page": page,
            "groups": _group_by_parent(page.object_list) if page else [],
            "all_query": _query(prefix=prefix, compare=keep.get("compare")),
            "counts": [
                (
                    s,
                    STATUS_LABELS.get(s, s),
                    run.status_counts.get(s, 0),
                    _query(prefix=prefix, status=s, compare=keep.get("compare")),
                    muted_here.get(s, 0),
                )
                for s in columns
            ],
            "run_choices": browse.recent_run_names(run),
            "can_unexpect": roles.has_permission(request.user, "triage"),
            "imports": imports,
            "imports_earlier": imports_total - len(imports),
            "attributes": sorted(run.attributes.items()),
            "clusters": clusters[:CLUSTERS_SHOWN],
            "clusters_total": len(clusters),
            "clusters_more": max(len(clusters) - CLUSTERS_SHOWN, 0),
            "sample_size": SAMPLE_TESTS,
        },
    )


def _has_failures(run: TestRun) -> bool:
    """Only F, E and M results can form clusters: a green run needs no query for them."""
    return any(run.status_counts.get(s) for s in "FEM")


def _group_by_parent(results) -> list[tuple[str, str, list[tuple[TestResult, str]]]]:
    """Consecutive results under the same parent (`a.b.c.test_x` -> `a.b.c`, and the level
    `a.b.c.` to link to); like Pandokia, `/` separates levels too (`dir/file.py/test_x` ->
    `dir/file.py`, level `dir/file.py/`)."""
    groups: list[tuple[str, str, list[tuple[TestResult, str]]]] = []
    for result in results:
        name = result.test_name
        cut = max(name.rfind("."), name.rfind("/"), 0)
        parent, leaf = name[:cut], name[cut + 1 :] if cut else name
        if groups and groups[-1][0] == parent:
            groups[-1][2].append((result, leaf))
        else:
            groups.append((parent, name[: cut + 1] if cut else "", [(result, leaf)]))
    return groups
