"""Series over time: every series with its latest run, a series' runs, and its trends (pass
rate, counts per status, total duration, the slowest and the most often failing tests).

A series' runs are its live runs ordered by (started_at, id). Pass rates and counts come from
the runs' cached status_counts and the duration from their duration_total (both kept by
refresh_counts), so the charts read runs, not results. The two test tables read the window's
results once and are cached until a run of the window changes (its updated_at moves).
"""

from __future__ import annotations

import hashlib
import statistics
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Max, QuerySet, Window
from django.db.models.functions import RowNumber

from core.exceptions import AssayError, NotFound
from results.models import Project, TestResult, TestRun
from results.selectors.runs import live_runs

TREND_MAX_RUNS = 500
SPARK_RUNS = 20  # runs in a series' sparkline on the series list
TOP_TESTS = 10  # rows of the slowest and most-failing tables
FAILED = ("F", "E")
CACHE_SECONDS = 3600
RUN_FIELDS = ("name", "series", "started_at", "branch", "commit", "status_counts")
RUN_FIELDS += ("duration_total", "updated_at")


def trend_runs(raw: str | int | None = None) -> int:
    """N of "the last N runs": ASSAY_TREND_RUNS unless asked; a bad value is a clear 400."""
    if raw in (None, ""):
        return settings.ASSAY_TREND_RUNS
    text = str(raw)
    if not text.isdigit() or not 2 <= int(text) <= TREND_MAX_RUNS:
        raise AssayError(
            f"runs={text[:20]!r}: give a number of runs from 2 to {TREND_MAX_RUNS}.",
            code="bad_runs",
        )
    return int(text)


def pass_rate(counts: dict[str, int]) -> float | None:
    """Passed among the tests that ran: disabled (D) tests count neither way. None when none
    ran."""
    ran = sum(n for status, n in counts.items() if status != "D")
    return counts.get("P", 0) / ran if ran else None


# --- the series ------------------------------------------------------------------------------


@dataclass
class SeriesRow:
    name: str
    runs: int
    latest: TestRun
    recent: list[TestRun] = field(default_factory=list)  # its last SPARK_RUNS runs, oldest first

    @property
    def rates(self) -> list[float | None]:
        return [pass_rate(run.status_counts) for run in self.recent]

    @property
    def latest_point(self) -> TrendPoint:
        return TrendPoint(self.latest)


def series_list(limit: int | None = None) -> list[SeriesRow]:
    """Every series, the most recently started first: its number of runs, its latest run and
    its last SPARK_RUNS runs. One query over the runs (a window per series), no results."""
    ranked = (
        live_runs()
        .exclude(series="")
        .only(*RUN_FIELDS)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("series")],
                order_by=[F("started_at").desc(), F("id").desc()],
            ),
            in_series=Window(Count("id"), partition_by=[F("series")]),
        )
        .filter(rank__lte=SPARK_RUNS)
        .order_by("series", "rank")
    )
    rows: dict[str, SeriesRow] = {}
    for run in ranked:
        row = rows.get(run.series)
        if row is None:
            row = rows[run.series] = SeriesRow(run.series, run.in_series, run)
        row.recent.insert(0, run)
    ordered = sorted(rows.values(), key=lambda r: (r.latest.started_at, r.latest.pk), reverse=True)
    return ordered[:limit] if limit is not None else ordered


def series_runs(name: str) -> QuerySet[TestRun]:
    """A series' live runs, newest first."""
    return live_runs().filter(series=name).order_by("-started_at", "-id")


def get_series(name: str) -> str:
    """The series' name if it has a live run, else NotFound."""
    if not name or not live_runs().filter(series=name).exists():
        raise NotFound(f"There is no series named {name[:200]!r}.", code="no_such_series")
    return name


# --- a series' trend -------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    run: TestRun

    @property
    def counts(self) -> dict[str, int]:
        return self.run.status_counts

    @property
    def total(self) -> int:
        return self.run.total

    @property
    def pass_rate(self) -> float | None:
        return pass_rate(self.run.status_counts)

    @property
    def duration(self) -> float | None:
        return self.run.duration_total


@dataclass(frozen=True)
class TestStat:
    """A test over the window: the runs it has a result in, and its figure (median seconds for
    the slowest, failures for the most failing); `result_id` is its newest telling result."""

    __test__ = False

    test_name: str
    project: str
    host: str
    context: str
    runs: int
    value: float
    result_id: int

    @property
    def failure_rate(self) -> float:
        return self.value / self.runs if self.runs else 0.0


@dataclass
class Trend:
    series: str
    n: int  # asked for
    points: list[TrendPoint]  # oldest first
    slowest: list[TestStat]
    failing: list[TestStat]


def series_trend(name: str, n: int | None = None) -> Trend:
    """The last n runs of a series (oldest first) and its slowest and most failing tests."""
    n = trend_runs(n)
    window = list(series_runs(get_series(name)).only(*RUN_FIELDS, "slowest")[:n])
    ids = [run.pk for run in window]
    version = ",".join(f"{run.pk}@{run.updated_at.isoformat()}" for run in window)
    key = "assay:trend:" + hashlib.sha256(f"{name}|{version}".encode()).hexdigest()
    tables = cache.get(key)
    if tables is None:
        tables = (slowest_tests(window), failing_tests(ids))
        cache.set(key, tables, CACHE_SECONDS)
    points = [TrendPoint(run) for run in reversed(window)]
    return Trend(name, n, points, *tables)


Identity = tuple[int, str, str, str]  # project id, host, context, test name


def _stats(
    found: list[tuple[Identity, int, float, int]],
    project_names: dict[int, str],
) -> list[TestStat]:
    return [
        TestStat(name, project_names.get(project, ""), host, context, runs, value, result_id)
        for (project, host, context, name), runs, value, result_id in found
    ]


def _project_names(keys) -> dict[int, str]:
    return dict(Project.objects.filter(pk__in={k[0] for k in keys}).values_list("id", "name"))


def slowest_tests(runs: list[TestRun], limit: int = TOP_TESTS) -> list[TestStat]:
    """The tests of the highest median duration over the runs (newest first).

    The candidates are the tests among each run's SLOWEST_KEPT slowest results (kept on the
    run by refresh_counts): a test with a high median is slow in half the runs, so it is among
    them unless 50 tests are slower there. Their durations in the window are then index
    lookups (run, test_name, ...), so this never reads the window's results."""
    candidates = {tuple(entry[:4]) for run in runs for entry in run.slowest}
    if not candidates:
        return []
    rank = {run.pk: i for i, run in enumerate(runs)}
    durations: dict[Identity, list[float]] = {}
    newest: dict[Identity, tuple[int, int]] = {}  # identity -> (run rank, result id)
    rows = TestResult.objects.filter(
        run_id__in=list(rank),
        test_name__in={key[3] for key in candidates},
        duration__isnull=False,
    ).values_list("project_id", "host", "context", "test_name", "duration", "id", "run_id")
    for project, host, context, name, duration, result_id, run_id in rows:
        key = (project, host, context, name)
        if key not in candidates:
            continue
        durations.setdefault(key, []).append(duration)
        if key not in newest or rank[run_id] < newest[key][0]:
            newest[key] = (rank[run_id], result_id)
    medians = sorted(
        ((statistics.median(d), key) for key, d in durations.items()),
        key=lambda item: (-item[0], item[1][3], item[1][:3]),
    )[:limit]
    found = [(key, len(durations[key]), m, newest[key][1]) for m, key in medians]
    return _stats(found, _project_names(key for key, *_ in found))


def failing_tests(run_ids: list[int], limit: int = TOP_TESTS) -> list[TestStat]:
    """The tests with the most failures (F or E) over the runs, each with the runs it has a
    result in: the failures through the (run, status, name) index, the runs of the few
    tests shown only."""
    identity = ("project_id", "host", "context", "test_name")
    top = list(
        TestResult.objects.filter(run_id__in=run_ids, status__in=FAILED)
        .values(*identity)
        .annotate(failures=Count("id"), last=Max("id"))
        .order_by("-failures", "test_name", "project_id", "host", "context")[:limit]
    )
    if not top:
        return []
    ran = {
        tuple(row[k] for k in identity): row["n"]
        for row in TestResult.objects.filter(
            run_id__in=run_ids, test_name__in={row["test_name"] for row in top}
        )
        .values(*identity)
        .annotate(n=Count("id"))
    }
    found = []
    for row in top:
        key = tuple(row[k] for k in identity)
        found.append((key, ran.get(key, row["failures"]), row["failures"], row["last"]))
    return _stats(found, _project_names(key for key, *_ in found))
