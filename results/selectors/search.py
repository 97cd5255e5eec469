"""Search by test name: a substring, any case, one row per test (project, host, context,
name) with its latest status in each series.

The names come from KnownTest (each identity once, whatever the number of runs; kept up by a
job after each import, results.services.search) and from the results of runs that job has not
done yet, so a search reads thousands of names rather than a million results: a scan of that
table on SQLite, a pg_trgm index on PostgreSQL (migration 0008_trends_search_index). The
statuses of a page of tests are index lookups in the recent runs of each series.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import BooleanField, F, Func, QuerySet, Window
from django.db.models.functions import RowNumber

from results.models import KnownTest, Project, TestResult, TestRun
from results.selectors.runs import live_runs

# A test's latest status in a series is looked for in that many of its newest runs, over the
# most recently active series (the lookups are page size x runs, whatever the results).
LOOKBACK_RUNS = 5
STATUS_SERIES = 40


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's own characters taken literally; `*` stands for any characters."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "%" + escaped.replace("*", "%") + "%"


class NameContains(Func):
    """`name` contains the text, whatever the case: ILIKE on PostgreSQL (which the trigram
    index serves); SQLite's LIKE already ignores case (ASCII letters only)."""

    output_field = BooleanField()

    def __init__(self, expression, text: str):
        super().__init__(expression)
        self.text = text

    def as_sql(self, compiler, connection, **extra):
        lhs, params = compiler.compile(self.get_source_expressions()[0])
        return f"{lhs} LIKE %s ESCAPE '\\'", [*params, like_pattern(self.text)]

    def as_postgresql(self, compiler, connection, **extra):
        column = self.get_source_expressions()[0]
        lhs, params = compiler.compile(column)
        if column.output_field.db_parameters(connection).get("collation") == "C":
            # A bytewise column (TestResult's): under "C", ILIKE folds ASCII letters only.
            lhs = f'{lhs} COLLATE "default"'
        return f"{lhs} ILIKE %s", [*params, like_pattern(self.text)]  # \ escapes by default


_IDENTITY = ("project_id", "project__name", "host", "context", "test_name")


def matching_tests(text: str, *, project: str | None = None) -> TestMatches:
    """Tests whose name contains `text` (any case), in name order: the known tests, and those
    of runs whose tests the search's job has not added yet (TestRun.search_pending: the last
    seconds' imports). A query for the pending runs' ids, then one UNION per page and one to
    count."""
    contains = NameContains(F("test_name"), text.strip())
    known = KnownTest.objects.filter(contains)
    if project:
        known = known.filter(project__name=project)
    rows = known.values_list(*_IDENTITY)
    # The pending runs' ids first, as a list: a planner without statistics on search_pending
    # (a fresh bulk load) read every result with a subquery; a list is index lookups per run.
    pending_runs = list(TestRun.objects.filter(search_pending=True).values_list("pk", flat=True))
    if pending_runs:
        pending = TestResult.objects.filter(contains, run_id__in=pending_runs)
        if project:
            pending = pending.filter(project__name=project)
        rows = rows.union(pending.values_list(*_IDENTITY))  # distinct
    return TestMatches(rows.order_by("test_name", "project__name", "host", "context"))


class TestMatches:
    """matching_tests' answer, for a Paginator: counted and sliced in the database, each row
    an (unsaved) KnownTest with its project's name at hand."""

    __test__ = False  # not a pytest test class

    def __init__(self, rows: QuerySet):
        self.rows = rows

    def count(self) -> int:
        return self.rows.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[KnownTest]:
        return [
            KnownTest(
                project=Project(pk=project_id, name=project_name),
                host=host,
                context=context,
                test_name=name,
            )
            for project_id, project_name, host, context, name in self.rows[index]
        ]

    def __iter__(self) -> Iterator[KnownTest]:
        return iter(self[:])


@dataclass(frozen=True)
class SeriesStatus:
    series: str  # empty: runs that belong to no series
    status: str
    result_id: int
    run_name: str


@dataclass
class FoundTest:
    test: KnownTest
    statuses: list[SeriesStatus] = field(default_factory=list)  # newest run first

    @property
    def result_id(self) -> int | None:
        """The test's page: its result in the newest of the runs looked at."""
        return self.statuses[0].result_id if self.statuses else None


def recent_runs(series: str | None = None) -> list[TestRun]:
    """The newest LOOKBACK_RUNS live runs of each of the STATUS_SERIES most recently active
    series (runs of no series count as one), newest first. One query over the runs."""
    runs = live_runs()
    if series is not None:
        runs = runs.filter(series=series)
    ranked = list(
        runs.only("name", "series", "started_at")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("series")],
                order_by=[F("started_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=LOOKBACK_RUNS)
        .order_by("-started_at", "-id")
    )
    active: list[str] = []
    for run in ranked:
        if run.series not in active:
            active.append(run.series)
    kept = set(active[:STATUS_SERIES])
    return [run for run in ranked if run.series in kept]


def latest_statuses(tests: list[KnownTest], series: str | None = None) -> list[FoundTest]:
    """Each test with its status in the newest run of each series that has it (among the
    recent runs). One query: the identity index (run, test_name, ...) of each recent run."""
    found = [FoundTest(test) for test in tests]
    if not tests:
        return found
    runs = recent_runs(series)
    order = {run.pk: i for i, run in enumerate(runs)}  # newest first
    by_id = {run.pk: run for run in runs}
    by_key = {
        (t.project_id, t.host, t.context, t.test_name): f for t, f in zip(tests, found, strict=True)
    }
    best: dict[tuple, tuple[int, SeriesStatus]] = {}
    rows = TestResult.objects.filter(
        run_id__in=list(order), test_name__in={t.test_name for t in tests}
    ).values_list("id", "run_id", "project_id", "host", "context", "test_name", "status")
    for result_id, run_id, *identity, status in rows:
        key = tuple(identity)
        if key not in by_key:
            continue
        run = by_id[run_id]
        slot = (key, run.series)
        if slot not in best or order[run_id] < best[slot][0]:
            best[slot] = (order[run_id], SeriesStatus(run.series, status, result_id, run.name))
    for (key, _series), (_rank, status) in sorted(best.items(), key=lambda kv: kv[1][0]):
        by_key[key].statuses.append(status)
    return found
