"""Read paths of querygen shared by the pages and the API: runs with their live counts, the
trend over finished runs, groups filtered and sorted, a group's samples."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, QuerySet

from core.models import Engine, JobState
from querygen.models import Finding, Group, GroupStatus, QuerygenRun

PENDING = (JobState.QUEUED, JobState.RUNNING)
TREND_RUNS = 40
RECENT_GROUPS = 15
GROUP_SORTS = {"last_seen": ("-last_seen", "-pk"), "count": ("-count", "-last_seen", "-pk")}
# What the trend shows, in the legend's order: (run field, label).
TREND_SERIES = [
    ("errors", "errors"),
    ("row_counts", "row counts"),
    ("contents", "contents"),
    ("crashes", "crashes"),
]


def runs() -> QuerySet[QuerygenRun]:
    """Latest first. `live_findings` counts finding rows, so a running run's findings show as
    they are recorded (the `findings` field is written when the run finishes)."""
    return (
        QuerygenRun.objects.select_related("sut", "reference", "pair")
        .annotate(live_findings=Count("finding_rows"))
        .order_by("-created_at", "-pk")
    )


def run(pk: int) -> QuerygenRun:
    return runs().get(pk=pk)


def live_groups() -> QuerySet[Group]:
    """The groups that are bugs of their own: not merged into another."""
    return Group.objects.filter(merged_into__isnull=True)


def merge_chain(group: Group) -> list[Group]:
    """The group, then the group it was merged into, and so on (a group merged into one later
    merged into a third: three). A loop (rows edited by hand: merge_groups makes none) ends
    before a group repeats."""
    chain = [group]
    seen = {group.pk}
    while group.merged_into_id is not None and group.merged_into_id not in seen:
        seen.add(group.merged_into_id)
        group = Group.objects.get(pk=group.merged_into_id)
        chain.append(group)
    return chain


def live_group(group: Group) -> Group:
    """Where a group's findings go: the group itself, or where its merges end."""
    return merge_chain(group)[-1]


def merged_here(group: Group) -> list[Group]:
    """The groups merged into this one (directly), in id order."""
    return list(group.merged.order_by("pk"))


def new_groups_of(run_ids: list[int]) -> dict[int, int]:
    """Run id -> how many groups that run saw first that are still new (not known, ignored
    or fixed): what makes a run red on the dashboard."""
    rows = (
        live_groups()
        .filter(first_run__in=run_ids, status=GroupStatus.NEW)
        .values("first_run")
        .annotate(n=Count("pk"))
        .values_list("first_run", "n")
    )
    return dict(rows)


@dataclass
class TrendPoint:
    run_id: int
    when: datetime
    queries: int
    counts: dict[str, int]  # by TREND_SERIES field

    def per_thousand(self, field: str) -> float:
        return 1000.0 * self.counts[field] / self.queries if self.queries else 0.0


CUSTOM = "custom"  # the trend of the runs that belong to no pair


def trend_pairs() -> list[str]:
    """The pairs whose runs a trend can show (names, then ``custom`` for runs of no pair),
    the one with the latest finished run first."""
    rows = (
        QuerygenRun.objects.filter(state=JobState.SUCCEEDED)
        .order_by("-finished_at", "-pk")
        .values_list("pair__name", flat=True)
    )
    return list(dict.fromkeys(name or CUSTOM for name in rows[:500]))


def trend(limit: int = TREND_RUNS, pair: str | None = None) -> list[TrendPoint]:
    """The last `limit` succeeded runs, oldest first: of one pair (``custom``: runs of no
    pair), since runs of other engines or profiles are not comparable; None: every run."""
    fields = [name for name, _ in TREND_SERIES]
    runs_of = QuerygenRun.objects.filter(state=JobState.SUCCEEDED)
    if pair == CUSTOM:
        runs_of = runs_of.filter(pair__isnull=True)
    elif pair is not None:
        runs_of = runs_of.filter(pair__name=pair)
    rows = runs_of.order_by("-finished_at", "-pk").values(
        "pk", "finished_at", "created_at", "queries", *fields
    )[:limit]
    return [
        TrendPoint(
            run_id=row["pk"],
            when=row["finished_at"] or row["created_at"],
            queries=row["queries"],
            counts={f: row[f] for f in fields},
        )
        for row in reversed(list(rows))
    ]


def recent_groups(limit: int = RECENT_GROUPS) -> list[Group]:
    return list(live_groups().select_related("last_run").order_by("-last_seen", "-pk")[:limit])


def pending_runs() -> list[QuerygenRun]:
    return list(runs().filter(state__in=PENDING))


def live_stamp() -> dict:
    """What the dashboard polls while runs are pending: it redraws when the stamp changes."""
    pending = pending_runs()
    latest = Finding.objects.aggregate(last=Max("pk"), n=Count("pk"))
    return {
        "pending": len(pending),
        "runs": [
            {
                "id": r.pk,
                "state": r.state,
                "done": r.progress_done,
                "total": r.progress_total,
                "message": r.progress_message,
                "findings": r.live_findings,
            }
            for r in pending
        ],
        "findings": latest["n"],
        "last_finding": latest["last"],
        "groups": live_groups().count(),
    }


def groups(
    *, status: str = "", kind: str = "", scope: str = "", sort: str = "last_seen"
) -> QuerySet[Group]:
    """Groups filtered by status, kind and scope (empty: any), sorted by last seen or count;
    merged groups are left out (their findings are their target's)."""
    rows = live_groups().select_related("last_run")
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    if scope:
        rows = rows.filter(scope=scope)
    return rows.order_by(*GROUP_SORTS.get(sort, GROUP_SORTS["last_seen"]))


def group_choices() -> dict[str, list[str]]:
    """The kinds and scopes groups have, for the filter's selects."""
    rows = live_groups()
    return {
        "kinds": list(rows.order_by("kind").values_list("kind", flat=True).distinct()),
        "scopes": list(rows.order_by("scope").values_list("scope", flat=True).distinct()),
    }


def status_counts() -> dict[str, int]:
    counts = dict(live_groups().values_list("status").annotate(n=Count("pk")))
    return {status: counts.get(status, 0) for status in GroupStatus.values}


def samples(group: Group) -> QuerySet[Finding]:
    """The group's findings, oldest first: the first few carry results."""
    return group.samples.select_related("run").order_by("created_at", "pk")


def shown_sample(group: Group, sample_id: str | int | None = None) -> Finding | None:
    """The sample a group's page shows: the one asked for, else the first with results."""
    rows = samples(group)
    if sample_id:
        try:
            return rows.get(pk=int(sample_id))
        except (ValueError, Finding.DoesNotExist):
            pass
    return rows.exclude(results=[]).first() or rows.first()


def dialects_of(run: QuerygenRun) -> dict[str, str]:
    """Engine name -> engine kind, for the run's engines (the highlighter's dialect)."""
    engines: list[Engine] = [e for e in (run.sut, run.reference) if e is not None]
    return {e.name: e.kind for e in engines}
