"""Triage and mutes as read paths: which results are muted, counted and listed in SQL.

A result is muted when an active mute (on, and not past `muted_until`) names its test (same
project and name; the mute's host and context blank or equal) or its failure cluster (its
fingerprint). Everything here is one query whatever the size of a run: an EXISTS over the
few active mutes per result, through the triage's indexes, never a lookup per row in Python.
A mute that expired needs no job to lift it: "active" is decided at query time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone

from core.exceptions import AssayError
from results.models import DefectType, TestResult, Triage, TriageComment

BAD = ("F", "E", "M")
MAX_LISTED = 1000  # more active mutes than this: no list of names in the query, just EXISTS


def active_mutes(now: datetime | None = None) -> QuerySet[Triage]:
    now = now or timezone.now()
    return Triage.objects.filter(muted=True).filter(
        Q(muted_until__isnull=True) | Q(muted_until__gt=now)
    )


def muted_q(
    now: datetime | None = None,
    *,
    project: str = "project_id",
    test_name: str = "test_name",
    host: str = "host",
    context: str = "context",
    fingerprint: str | None = "fingerprint",
) -> Q:
    """A condition on rows carrying a test's identity (and a fingerprint): muted now.
    The field names say where the identity is (FlakyTest has no fingerprint of its own)."""
    mutes = active_mutes(now)
    by_test = mutes.filter(
        fingerprint="",
        project_id=OuterRef(project),
        test_name=OuterRef(test_name),
    ).filter(Q(host="") | Q(host=OuterRef(host)), Q(context="") | Q(context=OuterRef(context)))
    condition = Q(Exists(by_test))
    if fingerprint is not None:
        # A result without a fingerprint (a pass) never matches: the mute's is never blank.
        by_cluster = mutes.exclude(fingerprint="").filter(fingerprint=OuterRef(fingerprint))
        condition |= Q(Exists(by_cluster))
    return condition


def with_muted(qs: QuerySet, now: datetime | None = None, **fields: str | None) -> QuerySet:
    """`qs` with a boolean `muted` on each row (one query, no lookup per row)."""
    return qs.annotate(muted=ExpressionWrapper(muted_q(now, **fields), output_field=BooleanField()))


def unmuted(qs: QuerySet, now: datetime | None = None, **fields: str | None) -> QuerySet:
    """`qs` without its muted rows (regressions, e-mails, flaky alerts)."""
    return qs.exclude(muted_q(now, **fields))


@dataclass(frozen=True)
class Mutes:
    """The active mutes at one instant, read once per request (one small query) and handed to
    every read path of the page, so a page asks "is anything muted?" once, not per list."""

    now: datetime
    rows: tuple[tuple[int, str], ...]  # (id, updated_at) of each active mute
    names: frozenset[str] = frozenset()  # the muted tests' names
    fingerprints: frozenset[str] = frozenset()  # the muted clusters

    def candidates(self) -> Q:
        """Results that may be muted, found through the indexes that start with a name or a
        fingerprint: counting the muted among a run's failures seeks to the few muted names
        instead of probing the mutes once per failure (the run list of two 100,000-result runs
        with 50 mutes: 31 ms instead of 415, benchmarks/results_ui.py --mutes 50)."""
        if len(self.names) + len(self.fingerprints) > MAX_LISTED:
            return Q()
        return Q(test_name__in=sorted(self.names)) | Q(fingerprint__in=sorted(self.fingerprints))

    @property
    def active(self) -> bool:
        return bool(self.rows)

    @property
    def key(self) -> str:
        """Changes whenever the set of active mutes changes (set, changed, removed, expired):
        part of the cache keys of comparisons, whose regressions leave muted tests out."""
        return hashlib.sha256(repr(self.rows).encode()).hexdigest()[:16] if self.rows else "-"


def current_mutes(now: datetime | None = None) -> Mutes:
    now = now or timezone.now()
    rows = list(
        active_mutes(now).order_by("pk").values_list("pk", "updated_at", "test_name", "fingerprint")
    )
    return Mutes(
        now,
        tuple((pk, at.isoformat()) for pk, at, _, _ in rows),
        frozenset(name for _, _, name, _ in rows if name),
        frozenset(fp for _, _, _, fp in rows if fp),
    )


def _given(mutes: Mutes | None) -> Mutes:
    return mutes if mutes is not None else current_mutes()


def muted_counts(run_ids: Iterable[int], mutes: Mutes | None = None) -> dict[int, dict[str, int]]:
    """{run id: {status: muted results}} for the bad statuses (F, E, M) of these runs: what the
    red counts show as "F 12 (3 muted)". One GROUP BY through the (run, status) index, and no
    query at all while nothing is muted."""
    ids = list(run_ids)
    mutes = _given(mutes)
    if not ids or not mutes.active:
        return {}
    rows = (
        TestResult.objects.filter(run_id__in=ids, status__in=BAD)
        .filter(mutes.candidates())
        .filter(muted_q(mutes.now))
        .order_by()
        .values_list("run_id", "status")
        .annotate(n=Count("id"))
    )
    counts: dict[int, dict[str, int]] = {}
    for run_id, status, n in rows:
        counts.setdefault(run_id, {})[status] = n
    return counts


def muted_names(run_id: int, names: Iterable[str], mutes: Mutes | None = None) -> set[str]:
    """The names among `names` (a page of tree leaves) that have a muted result in the run."""
    names = list(names)
    mutes = _given(mutes)
    if not names or not mutes.active:
        return set()
    qs = TestResult.objects.filter(run_id=run_id, test_name__in=names)
    qs = qs.filter(mutes.candidates()).filter(muted_q(mutes.now))
    return set(qs.values_list("test_name", flat=True).distinct())


TestKey = tuple[int, str, str, str]  # (project id, host, context, test name)


def mutes_of_tests(tests: Iterable, now: datetime | None = None) -> dict[TestKey, Triage]:
    """{(project id, host, context, name): its active mute} for the tests among `tests`
    (rows with project_id, host, context and test_name: KnownTest, FlakyTest, ...) that a
    test mute names; the most specific mute when several do (its host and context set). One
    query whatever the number of tests. Cluster mutes are a result's, not a test's: not here."""
    by_name: dict[tuple[int, str], list[TestKey]] = {}
    for t in tests:
        by_name.setdefault((t.project_id, t.test_name), []).append(
            (t.project_id, t.host, t.context, t.test_name)
        )
    if not by_name:
        return {}
    rows = active_mutes(now).filter(
        fingerprint="",
        project_id__in={project for project, _ in by_name},
        test_name__in={name for _, name in by_name},
    )
    found: dict[TestKey, Triage] = {}
    for mute in sorted(rows, key=lambda m: (m.host == "", m.context == "", m.pk)):
        for key in by_name.get((mute.project_id, mute.test_name), []):
            if mute.host in ("", key[1]) and mute.context in ("", key[2]):
                found.setdefault(key, mute)
    return found


# --- a result's triage, the list of triages -------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a triage is about: a test (project id + name, host and context blank for any) or
    a cluster (fingerprint)."""

    project_id: int | None = None
    test_name: str = ""
    host: str = ""
    context: str = ""
    fingerprint: str = ""

    @property
    def is_cluster(self) -> bool:
        return bool(self.fingerprint)

    def lookup(self) -> dict:
        if self.fingerprint:
            return {"fingerprint": self.fingerprint}
        return {
            "fingerprint": "",
            "project_id": self.project_id,
            "test_name": self.test_name,
            "host": self.host,
            "context": self.context,
        }


def triage_of(target: Target) -> Triage | None:
    """The triage of exactly this target, with its comments."""
    return Triage.objects.filter(**target.lookup()).prefetch_related("comments").first()


def triages_of_result(result: TestResult) -> list[Triage]:
    """Every triage that applies to a result: its test's (the exact one and those for any host
    or context) and its cluster's. The most specific test triage first, the cluster's last."""
    test = Q(
        fingerprint="",
        project_id=result.project_id,
        test_name=result.test_name,
        host__in=["", result.host],
        context__in=["", result.context],
    )
    if result.fingerprint:
        test |= Q(fingerprint=result.fingerprint)
    found = list(Triage.objects.filter(test).prefetch_related("comments"))
    return sorted(found, key=lambda t: (t.is_cluster, t.host == "", t.context == ""))


def triages(
    *,
    muted_only: bool = False,
    defect_type: str | None = None,
    project: str | None = None,
    test_name: str | None = None,
    fingerprint: str | None = None,
    now: datetime | None = None,
) -> QuerySet[Triage]:
    """Triages, newest change first, with their project and number of comments; `muted_only`:
    only the active mutes; each other argument given (not blank) narrows to it. An unknown
    defect type is refused (bad_defect_type), not taken as no condition."""
    qs = active_mutes(now) if muted_only else Triage.objects.all()
    if defect_type and defect_type not in DefectType.values:
        raise AssayError(
            f"defect_type={defect_type[:40]!r}: one of {', '.join(DefectType.values)}.",
            code="bad_defect_type",
        )
    given = {
        "defect_type": defect_type,
        "project__name": project,
        "test_name": test_name,
        "fingerprint": fingerprint,
    }
    qs = qs.filter(**{field: value for field, value in given.items() if value})
    return (
        qs.select_related("project")
        .annotate(n_comments=Count("comments"))
        .order_by("-updated_at", "-id")  # a GROUP BY drops Meta.ordering
    )


def comments_of(triage: Triage) -> QuerySet[TriageComment]:
    return triage.comments.all()
