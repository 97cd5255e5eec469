"""A test across runs: its history strip, flaky tests, and the dashboard (search by name is
results.selectors.search).

Everything here is bounded whatever the size of a run: the history is one query of N index
lookups, the dashboard reads cached counts and FlakyTest rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from results.models import STATUS_LABELS, STATUS_ORDER, FlakyTest, TestResult, TestRun
from results.selectors.browse import cached_compare_counts
from results.selectors.compare import CompareCounts, previous_run
from results.selectors.runs import live_runs
from results.selectors.triage import current_mutes, muted_q, unmuted, with_muted

HISTORY_MAX_RUNS = 100
RECENT_OTHER_RUNS = 10
TOP_FLAKY = 10
MUTE_FINGERPRINT = "last_result__fingerprint"  # a flaky test's cluster: its latest result's


def history_runs(raw: str | int | None = None) -> int:
    """N of "the last N runs": ASSAY_HISTORY_RUNS unless asked, kept within 1..100."""
    try:
        n = int(raw) if raw not in (None, "") else settings.ASSAY_HISTORY_RUNS
    except (TypeError, ValueError):
        n = settings.ASSAY_HISTORY_RUNS
    return max(1, min(n, HISTORY_MAX_RUNS))


# --- history ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryCell:
    run: TestRun
    result_id: int | None  # None: the test did not run (no result at all) in that run
    status: str | None
    current: bool

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status) if self.status else "not run"


@dataclass
class History:
    series: str  # empty for a run of no series: then the only cell is this run
    cells: list[HistoryCell]  # oldest first

    @property
    def recurring(self) -> bool:
        return bool(self.series)

    @property
    def prefix(self) -> str:  # the name before series existed (templates, API)
        return self.series


def result_history(result: TestResult, n: int | None = None) -> History:
    """The status of the result's test (same project, host, context and name) in the last n
    runs of its run's series ordered by (started_at, id), oldest first. The window is the n
    newest runs; if the result's run is older than those, the n runs that end with it, so the
    current run is always in it. One query (two for an old run): a status lookup per run
    through the identity index."""
    n = history_runs(n)
    run = result.run
    if not run.series:
        return History("", [HistoryCell(run, result.pk, result.status, True)])
    same = TestResult.objects.filter(
        run=OuterRef("pk"),
        test_name=result.test_name,
        project_id=result.project_id,
        host=result.host,
        context=result.context,
    )
    runs = (
        live_runs()
        .filter(series=run.series)
        .only("name", "series", "prefix", "run_date", "started_at")
        .annotate(
            result_id=Subquery(same.values("id")[:1]),
            result_status=Subquery(same.values("status")[:1]),
        )
        .order_by("-started_at", "-id")
    )
    window = list(runs[:n])
    if all(r.pk != run.pk for r in window):
        at = run.started_at
        window = list(runs.filter(Q(started_at__lt=at) | Q(started_at=at, id__lte=run.pk))[:n])
    cells = [HistoryCell(r, r.result_id, r.result_status, r.pk == run.pk) for r in reversed(window)]
    return History(run.series, cells)


# --- flaky tests -----------------------------------------------------------------------------


def flaky_tests(
    *, series: str | None = None, project: str | None = None, muted: bool = False
) -> QuerySet[FlakyTest]:
    """Flaky tests, most flips first (results.services.flaky keeps the table). Muted tests
    (or tests whose latest result's cluster is muted) are left out unless `muted`: a
    quarantined test raises no flaky alert. With `muted`, each row's `muted` says it."""
    qs = FlakyTest.objects.select_related("project", "window_end")
    if muted:
        qs = with_muted(qs, fingerprint=MUTE_FINGERPRINT)  # each row says whether it is muted
    else:
        qs = unmuted(qs, fingerprint=MUTE_FINGERPRINT)
    if series:
        qs = qs.filter(series=series)
    if project:
        qs = qs.filter(project__name=project)
    return qs.order_by("-flips", "-runs", "test_name", "project__name", "host", "context")


def flaky_counts(*, series: str | None = None, project: str | None = None) -> tuple[int, int]:
    """(flaky tests of the filter, muted ones among them), in one query: the page's count and
    its "N muted tests hidden"."""
    qs = flaky_tests(series=series, project=project, muted=True).order_by()
    counts = qs.aggregate(
        total=Count("id"), muted=Count("id", filter=muted_q(fingerprint=MUTE_FINGERPRINT))
    )
    return counts["total"], counts["muted"]


def flaky_entry(result: TestResult) -> FlakyTest | None:
    """The FlakyTest row of a result's test, if it is flaky in its run's series."""
    if not result.run.series:
        return None
    return FlakyTest.objects.filter(
        series=result.run.series,
        project_id=result.project_id,
        host=result.host,
        context=result.context,
        test_name=result.test_name,
    ).first()


def flaky_series() -> list[str]:
    """Series that have flaky tests (for the filter)."""
    return list(FlakyTest.objects.order_by("series").values_list("series", flat=True).distinct())


def flaky_projects(series: str | None = None) -> list[str]:
    """Projects that have flaky tests (for the filter)."""
    qs = FlakyTest.objects.all()
    if series:
        qs = qs.filter(series=series)
    return list(qs.order_by("project__name").values_list("project__name", flat=True).distinct())


# --- dashboard -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BarSegment:
    status: str
    count: int
    percent: float  # of the run's total, for a CSS width


def status_bar(counts: dict[str, int]) -> list[BarSegment]:
    """A run's cached counts as segments of a stacked bar: P F E D M, then a site's letters."""
    total = sum(counts.values())
    if not total:
        return []
    order = STATUS_ORDER + sorted(set(counts) - set(STATUS_ORDER))
    return [
        BarSegment(s, counts[s], round(100 * counts[s] / total, 3)) for s in order if counts.get(s)
    ]


@dataclass
class PrefixSummary:
    prefix: str
    latest: TestRun | None
    previous: TestRun | None = None
    compare: CompareCounts | None = None
    flakiest: list[FlakyTest] = field(default_factory=list)

    @property
    def bar(self) -> list[BarSegment]:
        return status_bar(self.latest.status_counts) if self.latest else []


def prefix_summaries() -> list[PrefixSummary]:
    """For each recurring prefix: its latest run, the comparison with the run before (three
    index-driven counts: 0.07 s on SQLite, 0.3 s on PostgreSQL for 100,000 results, once per
    import thanks to the cache) and its flakiest tests."""
    summaries = []
    mutes = current_mutes()  # once for every prefix's comparison
    for prefix in settings.ASSAY_RECURRING_PREFIXES:
        latest = (
            live_runs().filter(prefix=prefix, run_date__isnull=False).order_by("-run_date").first()
        )
        summary = PrefixSummary(prefix, latest)
        if latest is not None:
            summary.previous = previous_run(latest)
            if summary.previous is not None:
                # Shared with the run and compare pages, kept until either run changes.
                summary.compare = cached_compare_counts(latest, summary.previous, mutes)
            summary.flakiest = list(flaky_tests(series=prefix)[:TOP_FLAKY])
        summaries.append(summary)
    return summaries


def recent_other_runs(limit: int = RECENT_OTHER_RUNS) -> list[TestRun]:
    """The newest runs that are not recurring (pr-1234, mark-25 ...)."""
    return list(live_runs().filter(run_date__isnull=True)[:limit])
