"""Failure clusters: a run's failures grouped by fingerprint (new in this run, or seen in an
earlier one), and one cluster across runs. Fixed numbers of queries, whatever the counts:
one windowed query for a run's clusters with their sample tests, one grouped query for what
earlier runs had of them; two for a cluster's totals, one per page of its runs or tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.core.cache import cache
from django.db.models import Count, F, Max, Min, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from core.exceptions import NotFound
from results.importers.messages import FINGERPRINT_LENGTH, normalize_message
from results.models import TestResult, TestRun
from results.selectors import browse

SAMPLE_TESTS = 5  # tests named per cluster on a run's page
FINGERPRINT_RE = re.compile(rf"^[0-9a-f]{{{FINGERPRINT_LENGTH}}}$")


@dataclass
class SampleTest:
    result_id: int
    test_name: str
    message: str


@dataclass
class RunCluster:
    fingerprint: str
    count: int  # this run's results in the cluster
    normalized: str  # the message with numbers, strings, paths, ... taken out
    message: str  # one raw message of the cluster (its first test's)
    tests: list[SampleTest] = field(default_factory=list)  # the first few, by name
    earlier_runs: int = 0  # earlier runs (of the series, or any when none) that had it
    first_seen: datetime | None = None  # start of the earliest of them

    @property
    def new(self) -> bool:
        return self.earlier_runs == 0


def earlier_runs(run: TestRun) -> Q:
    """Results of the runs before `run`: of its series by (started_at, id), or of every run
    when it has none. For a lookup on TestResult."""
    before = Q(run__started_at__lt=run.started_at) | Q(
        run__started_at=run.started_at, run_id__lt=run.pk
    )
    scope = Q(run__deleted_at__isnull=True) & before
    if run.series:
        scope &= Q(run__series=run.series)
    return scope


def run_clusters(run: TestRun, sample: int = SAMPLE_TESTS) -> list[RunCluster]:
    """The run's failures by fingerprint, biggest first, each with its first `sample` tests
    and whether an earlier run had it. The run's own part is cached until the run is written
    to again (as the tree is); what earlier runs had is asked each time (one grouped query)."""
    key = browse.cache_key("clusters", browse.run_key(run), str(sample))
    clusters: dict[str, RunCluster] | None = cache.get(key)
    if clusters is None:
        clusters = _own_clusters(run, sample)
        cache.set(key, clusters, browse.CACHE_SECONDS)
    if not clusters:
        return []
    clusters = {fp: replace(c, tests=list(c.tests)) for fp, c in clusters.items()}
    seen = (
        TestResult.objects.filter(earlier_runs(run), fingerprint__in=list(clusters))
        .values("fingerprint")
        .annotate(runs=Count("run_id", distinct=True), first=Min("run__started_at"))
        .values_list("fingerprint", "runs", "first")
    )
    for fp, runs, first in seen:
        clusters[fp].earlier_runs, clusters[fp].first_seen = runs, first
    return sorted(clusters.values(), key=lambda c: (-c.count, c.normalized, c.fingerprint))


def _own_clusters(run: TestRun, sample: int) -> dict[str, RunCluster]:
    failing = TestResult.objects.filter(run=run).exclude(fingerprint="")
    rows = (
        failing.annotate(
            cluster_size=Window(Count("id"), partition_by=[F("fingerprint")]),
            rank=Window(
                RowNumber(), partition_by=[F("fingerprint")], order_by=[F("test_name"), F("id")]
            ),
        )
        .filter(rank__lte=sample)
        .values_list("fingerprint", "cluster_size", "id", "test_name", "message")
    )
    clusters: dict[str, RunCluster] = {}
    for fp, size, pk, name, message in rows:
        cluster = clusters.get(fp)
        if cluster is None:
            cluster = clusters[fp] = RunCluster(fp, size, "", message)
        cluster.tests.append(SampleTest(pk, name, message))
    for cluster in clusters.values():
        cluster.tests.sort(key=lambda t: t.test_name)
        cluster.message = cluster.tests[0].message
        cluster.normalized = normalize_message(cluster.message)
    return clusters


@dataclass
class ClusterRun:
    name: str
    started_at: datetime
    count: int


@dataclass
class ClusterTest:
    test_name: str
    count: int  # results of that test in the cluster (one per run, hosts and contexts apart)
    last_seen: datetime
    result_id: int  # its latest result in the cluster (by import)


@dataclass
class Cluster:
    fingerprint: str
    normalized: str
    message: str  # the newest raw message
    message_result_id: int
    results: int
    run_count: int
    test_count: int
    first_seen: datetime
    last_seen: datetime
    runs: list[ClusterRun]  # newest first, at most `runs_limit` (cluster_runs: all, paged)
    tests: list[ClusterTest]  # most often hit first, at most `tests_limit` (cluster_tests)


class Listing:
    """A lazy list of a cluster's runs or tests for a Paginator: its count is known already
    (the cluster's totals), and a slice is one query whose rows become `make(*row)`."""

    def __init__(self, rows: QuerySet, count: int, make: Callable) -> None:
        self.rows, self._count, self.make = rows, count, make

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: slice) -> list:
        return [self.make(*row) for row in self.rows[index]]


def _hits(fingerprint: str) -> QuerySet[TestResult]:
    return TestResult.objects.filter(fingerprint=fingerprint, run__deleted_at__isnull=True)


def cluster_runs(found: Cluster) -> Listing:
    """The runs a cluster hit, newest first, for a Paginator."""
    rows = (
        _hits(found.fingerprint)
        .values("run_id")
        .annotate(n=Count("id"))
        .order_by("-run__started_at", "-run_id")
        .values_list("run__name", "run__started_at", "n")
    )
    return Listing(rows, found.run_count, ClusterRun)


def cluster_tests(found: Cluster) -> Listing:
    """The tests a cluster hit, most often hit first, for a Paginator."""
    rows = (
        _hits(found.fingerprint)
        .values("test_name")
        .annotate(n=Count("id"), last=Max("run__started_at"), pk=Max("id"))
        .order_by("-n", "test_name")
        .values_list("test_name", "n", "last", "pk")
    )
    return Listing(rows, found.test_count, ClusterTest)


def cluster(fingerprint: str, *, runs_limit: int = 50, tests_limit: int = 100) -> Cluster:
    """A cluster across the live runs; NotFound when no result has that fingerprint. A limit
    of 0 reads no runs (or tests): the page pages them with cluster_runs and cluster_tests."""
    if not FINGERPRINT_RE.match(fingerprint):
        raise NotFound(
            f"{fingerprint[:40]!r} is no cluster fingerprint ({FINGERPRINT_LENGTH} hex digits).",
            code="not_found",
        )
    hits = _hits(fingerprint)
    newest = (
        hits.order_by("-run__started_at", "-run_id", "-id").values_list("id", "message").first()
    )
    if newest is None:
        raise NotFound(f"No failure has the fingerprint {fingerprint}.", code="not_found")
    totals = hits.aggregate(
        results=Count("id"),
        runs=Count("run_id", distinct=True),
        tests=Count("test_name", distinct=True),
        first=Min("run__started_at"),
        last=Max("run__started_at"),
    )
    pk, message = newest
    found = Cluster(
        fingerprint=fingerprint,
        normalized=normalize_message(message),
        message=message,
        message_result_id=pk,
        results=totals["results"],
        run_count=totals["runs"],
        test_count=totals["tests"],
        first_seen=totals["first"],
        last_seen=totals["last"],
        runs=[],
        tests=[],
    )
    if runs_limit:
        found.runs = cluster_runs(found)[:runs_limit]
    if tests_limit:
        found.tests = cluster_tests(found)[:tests_limit]
    return found
