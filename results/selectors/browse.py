"""Read paths of the run and compare pages (web UI and API): the tree level and the
comparison counts cached per pair of runs, the rows of a comparison with the results on both
sides, and the leaves of a level resolved to their results.

Caching is safe because every write to a run's results ends in refresh_counts(), which moves
the run's updated_at: a key holding both runs' updated_at is never stale, it is just not asked
for again. Yesterday's run does not change, so looking at today's run against it costs the
two GROUP BYs (or the three comparison counts) once per import, not once per page view.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Case, QuerySet, Value, When

from results.models import TestResult, TestRun
from results.selectors.compare import CompareCounts, compare_counts, compare_rows
from results.selectors.runs import live_runs
from results.selectors.tree import Node, tree_level
from results.selectors.triage import Mutes, current_mutes, with_muted

CACHE_SECONDS = 3600
SEPARATORS = (".", "/")
_SEGMENT = re.compile(r"[^./]*[./]")


def run_key(run: TestRun | None) -> str:
    return "-" if run is None else f"{run.pk}@{run.updated_at.isoformat()}"


def cache_key(kind: str, *parts: str) -> str:
    # Hashed: test-name prefixes can be long and hold characters memcached refuses in keys.
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return f"assay:{kind}:{digest}"


def cached_tree_level(run: TestRun, prefix: str = "", other: TestRun | None = None) -> list[Node]:
    """tree_level(), remembered until either run is written to again."""
    key = cache_key("tree", run_key(run), run_key(other), prefix)
    nodes = cache.get(key)
    if nodes is None:
        nodes = tree_level(run, prefix, other)
        cache.set(key, nodes, CACHE_SECONDS)
    return nodes


def cached_compare_counts(
    run: TestRun, other: TestRun, mutes: Mutes | None = None
) -> CompareCounts:
    """compare_counts(), remembered until either run is written to again or the active mutes
    change (muting a test changes the regressions at once)."""
    mutes = mutes if mutes is not None else current_mutes()
    key = cache_key("compare", run_key(run), run_key(other), mutes.key)
    counts = cache.get(key)
    if counts is None:
        counts = compare_counts(run, other, mutes)
        cache.set(key, counts, CACHE_SECONDS)
    return counts


# --- levels of test names -------------------------------------------------------------------


def split_prefix(prefix: str) -> tuple[str, list[tuple[str, str]]]:
    """`eng.storage.test_a` -> level `eng.storage.` (what tree_level takes: empty or ending
    with a separator) and its ancestors as (segment, path) pairs for breadcrumbs:
    [("eng", "eng."), ("storage", "eng.storage.")]. What follows the last separator is a
    starts-with filter inside that level."""
    crumbs: list[tuple[str, str]] = []
    path = ""
    for match in _SEGMENT.finditer(prefix):
        path += match.group()
        crumbs.append((match.group()[:-1], path))
    return path, crumbs


def nodes_under(nodes: Iterable[Node], prefix: str) -> list[Node]:
    """The nodes of a level whose path starts with `prefix` (all of them for a level)."""
    return [node for node in nodes if node.path.startswith(prefix)]


def count_under(nodes: Iterable[Node], statuses: str = "") -> int:
    """Results under these nodes (with one of `statuses`, or all): the tree's counts already
    say how many rows a listing of them has, so its paginator need not count them again."""
    if not statuses:
        return sum(node.total for node in nodes)
    return sum(node.counts.get(s, 0) for node in nodes for s in set(statuses))


@dataclass(frozen=True)
class LeafLink:
    run: TestRun
    result_id: int | None  # the only result of that name, or None when there are several
    message: str = ""  # that result's failure message


def leaf_links(run: TestRun, other: TestRun | None, nodes: Sequence[Node]) -> dict[str, LeafLink]:
    """Where each leaf of a level links: its result in `run`, or in `other` for a test that
    vanished. One query for the whole page of nodes, through the identity index."""
    links: dict[str, LeafLink] = {}
    single: dict[str, TestRun] = {}
    for node in nodes:
        if not node.is_leaf:
            continue
        owner = run if node.total else other
        if owner is None:
            continue
        links[node.path] = LeafLink(owner, None)
        if node.total == 1 or (not node.total and sum(map(abs, node.delta.values())) == 1):
            single[node.path] = owner
    if single:
        rows = TestResult.objects.filter(
            run_id__in={owner.pk for owner in single.values()}, test_name__in=list(single)
        ).values_list("run_id", "test_name", "pk", "message")
        for run_id, name, pk, message in rows:
            if single[name].pk == run_id:
                links[name] = LeafLink(single[name], pk, message)
    return links


# --- comparisons ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ComparedRow:
    test_name: str
    project: str
    host: str
    context: str
    before: str | None  # status in the other run (None: not there)
    status: str | None  # status in this run (None: not there)
    result_id: int | None  # the result in this run
    other_result_id: int | None  # the result in the other run
    muted: bool = False  # its test or cluster is muted now
    message: str = ""  # the failure message: this run's, else the other run's (a fix's)


def compared_rows(
    run: TestRun,
    other: TestRun,
    kind: str,
    *,
    offset: int = 0,
    limit: int = 200,
    mutes: Mutes | None = None,
) -> list[ComparedRow]:
    """One page of compare_rows() with the results on both sides, remembered until either
    run is written to again (new and vanished tests take a scan of a whole run to find)."""
    mutes = mutes if mutes is not None else current_mutes()
    key = cache_key("rows", run_key(run), run_key(other), mutes.key, kind, str(offset), str(limit))
    rows = cache.get(key)
    if rows is None:
        rows = _compared_rows(run, other, kind, offset, limit, mutes)
        cache.set(key, rows, CACHE_SECONDS)
    return rows


def _compared_rows(
    run: TestRun, other: TestRun, kind: str, offset: int, limit: int, mutes: Mutes
) -> list[ComparedRow]:
    # One more query, for the page only, finds the other run's results of regressions and
    # fixes.
    qs = compare_rows(run, other, kind)
    if mutes.active:
        qs = with_muted(qs, mutes.now)
    page = list(qs[offset : offset + limit])
    if kind == "vanished":
        return [
            ComparedRow(
                r.test_name, r.project.name, r.host, r.context, r.status, None, None, r.pk,
                muted=getattr(r, "muted", False), message=r.message,
            )
            for r in page
        ]  # fmt: skip
    if kind == "new":
        return [
            ComparedRow(
                r.test_name, r.project.name, r.host, r.context, None, r.status, r.pk, None,
                muted=getattr(r, "muted", False), message=r.message,
            )
            for r in page
        ]  # fmt: skip
    theirs: dict[tuple, tuple[int, str]] = {}
    if page:
        rows = TestResult.objects.filter(
            run=other, test_name__in={r.test_name for r in page}
        ).values_list("test_name", "project_id", "host", "context", "pk", "message")
        theirs = {(name, proj, host, ctx): (pk, msg) for name, proj, host, ctx, pk, msg in rows}
    compared = []
    for r in page:
        other_pk, other_message = theirs.get(
            (r.test_name, r.project_id, r.host, r.context), (None, "")
        )
        compared.append(
            ComparedRow(
                r.test_name, r.project.name, r.host, r.context, r.before, r.status, r.pk,
                other_pk, muted=getattr(r, "muted", False), message=r.message or other_message,
            )
        )  # fmt: skip
    return compared


def missing_results(run: TestRun) -> QuerySet[TestResult]:
    """The run's M records in name order, without logs, each marked `muted` or not."""
    return (
        with_muted(TestResult.objects.filter(run=run, status="M"))
        .select_related("project")
        .defer("log")
        .order_by("test_name", "project__name", "host", "context")
    )


def recent_run_names(run: TestRun, limit: int = 30) -> list[str]:
    """Names to offer in a "compare with" box: the newest runs, this run's series first."""
    runs = live_runs().exclude(pk=run.pk)
    if run.series:  # one query: same series first, each part newest first
        same = Case(When(series=run.series, then=Value(0)), default=Value(1))
        runs = runs.order_by(same, "-created_at", "-id")
    return list(runs.values_list("name", flat=True)[:limit])
