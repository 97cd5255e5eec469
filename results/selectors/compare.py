"""Comparing two runs: regressions, fixes, new and vanished tests (muted tests are no
regression: results.selectors.triage).

Pandokia's "compare with the previous day", plus what SQUAD's and ReportPortal's users ask for:
tests that did not run count too (M, or absent altogether). Everything is counted in SQL: one
correlated lookup per result through the identity index, never a Python loop over a run.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value

from results.models import TestResult, TestRun
from results.selectors.triage import Mutes, current_mutes, muted_q

BAD = ("F", "E", "M")
KINDS = ("regressions", "fixes", "new", "vanished")


def _neighbour(run: TestRun, *, before: bool) -> TestRun | None:
    """The run next to this one in its series, ordered by (started_at, id): any number of
    runs a day, ties broken by id. One seek on the (series, started_at) index."""
    if not run.series:
        return None  # a run of no series has no "before"
    same = TestRun.objects.filter(series=run.series, deleted_at__isnull=True)
    at = run.started_at
    if before:
        earlier = Q(started_at__lt=at) | Q(started_at=at, id__lt=run.pk)
        return same.filter(earlier).order_by("-started_at", "-id").first()
    later = Q(started_at__gt=at) | Q(started_at=at, id__gt=run.pk)
    return same.filter(later).order_by("started_at", "id").first()


def previous_run(run: TestRun) -> TestRun | None:
    """The run before this one in its series (None for a run of no series, or the first)."""
    return _neighbour(run, before=True)


def next_run(run: TestRun) -> TestRun | None:
    return _neighbour(run, before=False)


def _same_test(other: TestRun) -> QuerySet[TestResult]:
    return TestResult.objects.filter(
        run=other,
        test_name=OuterRef("test_name"),
        project=OuterRef("project"),
        host=OuterRef("host"),
        context=OuterRef("context"),
    )


def with_before(run: TestRun, other: TestRun) -> QuerySet[TestResult]:
    """The run's results, each annotated with `before`: its status in `other` (or None)."""
    return TestResult.objects.filter(run=run).annotate(
        before=Subquery(_same_test(other).values("status")[:1])
    )


@dataclass(frozen=True)
class CompareCounts:
    regressions: int
    fixes: int
    new: int
    vanished: int
    muted: int = 0  # regressions left out because their test or cluster is muted


def compare_counts(run: TestRun, other: TestRun, mutes: Mutes | None = None) -> CompareCounts:
    """Three index-driven queries whatever the runs' sizes: regressions from this run's bad
    results, fixes from the other run's bad results (both few), and the tests the two runs
    share; new and vanished follow from the runs' cached totals."""
    # Muted tests still fail, but are no regression: they are counted apart.
    regressed = TestResult.objects.filter(run=run, status__in=BAD).filter(
        Exists(_same_test(other).filter(status="P"))
    )
    mutes = mutes if mutes is not None else current_mutes()
    muted = (
        regressed.filter(mutes.candidates()).filter(muted_q(mutes.now)).count()
        if mutes.active
        else 0
    )
    regressions = regressed.count() - muted
    fixes = (
        TestResult.objects.filter(run=other, status__in=BAD)
        .filter(Exists(_same_test(run).filter(status="P")))
        .count()
    )
    shared = TestResult.objects.filter(run=run).filter(Exists(_same_test(other))).count()
    return CompareCounts(
        regressions=regressions,
        fixes=fixes,
        new=run.total - shared,
        vanished=other.total - shared,
        muted=muted,
    )


def compare_rows(run: TestRun, other: TestRun, kind: str) -> QuerySet[TestResult]:
    """The results of one kind, in test-name order, ready to paginate.

    For `vanished` the rows are the other run's results (they have no row in `run`)."""
    if kind == "vanished":
        qs = (
            TestResult.objects.filter(run=other)
            .exclude(Exists(_same_test(run)))
            .annotate(before=F("status"))
        )
    elif kind == "new":
        # An anti-join, not "before IS NULL" over a subquery per row: half the time.
        qs = (
            TestResult.objects.filter(run=run)
            .exclude(Exists(_same_test(other)))
            .annotate(before=Value(None, output_field=CharField()))
        )
    else:
        qs = with_before(run, other)
        if kind == "regressions":
            qs = qs.filter(before="P", status__in=BAD).exclude(muted_q())
        elif kind == "fixes":
            qs = qs.filter(before__in=BAD, status="P")
        else:
            raise ValueError(f"unknown comparison {kind!r}; one of {', '.join(KINDS)}")
    return (
        qs.select_related("project")
        .defer("log")
        .order_by("test_name", "project__name", "host", "context")
    )
