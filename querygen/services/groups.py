"""Findings into groups: one transaction per finding, so a group's count is the number of its
finding rows, and a finding checked twice (a run picked up again after a crash) is one row."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from core.exceptions import AssayError
from core.jobs import LeaseLost
from core.models import JobState
from querygen.engine.oracles import Check
from querygen.engine.pipeline import Reduced
from querygen.engine.runner import Finding as EngineFinding
from querygen.engine.signature import KnownIssue as EngineKnownIssue
from querygen.engine.signature import match_known, normalize_error
from querygen.models import Finding, Group, GroupStatus, KnownIssue, QuerygenRun

SHOWN_ROWS = 50  # rows of each side kept with a sample
CELL_CHARS = 200
TITLE_CHARS = 300


def known_issues() -> list[EngineKnownIssue]:
    """The enabled known issues, in order; a pattern that no longer compiles is left out (the
    admin refuses those, this guards rows written otherwise)."""
    issues = []
    for row in KnownIssue.objects.filter(enabled=True):
        try:
            issues.append(EngineKnownIssue(row.pattern, row.url, row.action))
        except ValueError:
            continue
    return issues


def _cell(value: Any) -> Any:
    """A value as JSON can hold it and a page can show it (NULL stays None)."""
    if isinstance(value, str):
        return value if len(value) <= CELL_CHARS else value[: CELL_CHARS - 1] + "…"
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "x'" + bytes(value).hex()[:CELL_CHARS] + "'"
    return str(value)[:CELL_CHARS]


def results_of(check: Check) -> list[dict[str, Any]]:
    """Each side's answer (the first SHOWN_ROWS rows), with the rows the other side lacks
    marked: a page shows them side by side."""
    sides = check.sides
    only = {sides[0]: check.sut_only, sides[-1]: check.ref_only} if sides else {}
    out = []
    for side in sides:
        outcome = check.outcomes.get(side)
        if outcome is None:
            continue
        differing = Counter(map(repr, only.get(side, [])))
        rows, marked = [], []
        for n, row in enumerate(outcome.rows[:SHOWN_ROWS]):
            key = repr(row)
            if differing[key] > 0:
                differing[key] -= 1
                marked.append(n)
            rows.append([_cell(v) for v in row])
        extra = [[_cell(v) for v in row] for row in only.get(side, [])[:SHOWN_ROWS]]
        out.append(
            {
                "side": side,
                "engine": check.engines.get(side, side),
                "status": outcome.status.value,
                "error": outcome.error[:2000],
                "columns": list(outcome.columns),
                "rows": rows,
                "total": len(outcome.rows),
                "marked": marked,
                # The differing rows themselves: past the first SHOWN_ROWS they are not above.
                "only": extra,
            }
        )
    return out


def _title(kind: str, error: str, detail: str) -> str:
    text = f"{kind}: {error}" if error else f"{kind}: {detail.splitlines()[0] if detail else ''}"
    return text[:TITLE_CHARS]


def record_finding(
    run: QuerygenRun,
    finding: EngineFinding,
    reduced: Reduced | None,
    group_of_same_query: Group | None,
    known: list[EngineKnownIssue],
    *,
    difference: str | None = None,
    fence: bool = False,
) -> Finding | None:
    """Store one finding in its group (created when new); None when this run already has it.

    ``reduced``: the finding after reduction (its signature decides the group);
    ``group_of_same_query``: the group an identical unreduced query went to before (no
    reduction needed); with neither, the finding is grouped by its unreduced signature.
    ``difference``: the finding's pipeline.difference_key, as the caller computed it.
    ``fence``: write only while ``run.worker`` holds the run (LeaseLost otherwise), so a worker
    whose lease went to another records nothing more.
    """
    scope = run.scope
    now = timezone.now()
    check = reduced.check if reduced is not None else finding.check
    with transaction.atomic():
        if fence:
            held = QuerygenRun.objects.select_for_update().filter(
                pk=run.pk, worker=run.worker, state=JobState.RUNNING
            )
            if not held.exists():
                raise LeaseLost(f"querygen run {run.pk}: lease lost by {run.worker}")
        if Finding.objects.filter(run=run, index=finding.index).exists():
            return None
        if group_of_same_query is not None:
            group = group_of_same_query
        else:
            if reduced is not None:
                signature, shape, error = reduced.signature, reduced.shape, reduced.error
                issue = reduced.known
            else:
                signature, shape = finding.signature, finding.shape
                error = normalize_error(finding.error)
                issue = match_known(
                    known,
                    kind=finding.kind,
                    shape=shape,
                    error=finding.error,
                    sql=next(iter(finding.sql.values()), ""),
                )
            status = GroupStatus.NEW
            if issue is not None:
                status = GroupStatus.KNOWN if issue.action == "label" else GroupStatus.IGNORED
            group, _ = Group.objects.get_or_create(
                scope=scope,
                signature=signature,
                defaults={
                    "kind": finding.kind.value,
                    "shape": shape,
                    "error": error,
                    "title": _title(finding.kind.value, error, check.detail),
                    "status": status,
                    "link": issue.url if issue is not None else "",
                    "first_seen": now,
                    "last_seen": now,
                    "first_run": run,
                    "last_run": run,
                    "reduced": reduced is not None and reduced.reduced,
                },
            )
        sample = group.samples.count() < settings.ASSAY_QUERYGEN_SAMPLES
        try:
            with transaction.atomic():  # a savepoint: another worker may have written it since
                row = Finding.objects.create(
                    group=group,
                    run=run,
                    seed=finding.seed,
                    index=finding.index,
                    kind=finding.kind.value,
                    detail=check.detail[:5000],
                    engines=dict(check.engines),
                    sql=dict(finding.sql),
                    reduced_sql=dict(check.sql) if reduced is not None and reduced.reduced else {},
                    reduced_query=reduced.tree.sql()
                    if reduced is not None and reduced.reduced
                    else "",
                    errors={side: text[:2000] for side, text in check.errors.items()},
                    results=results_of(check) if sample else [],
                    original_size=reduced.original_size if reduced is not None else 0,
                    reduced_size=reduced.reduced_size if reduced is not None else 0,
                    reduction_checks=reduced.checks if reduced is not None else 0,
                    raw_signature=finding.signature,
                    difference=(difference or "")[:300],
                )
        except IntegrityError:
            return None
        Group.objects.filter(pk=group.pk).update(count=F("count") + 1, last_seen=now, last_run=run)
        # A fixed bug that comes back is a regression: new again, and said so (conditional:
        # whoever marks the group meanwhile is not overwritten).
        seen_again = f"Marked fixed, seen again in run {run.pk} on {now:%Y-%m-%d %H:%M} UTC."
        Group.objects.filter(pk=group.pk, status=GroupStatus.FIXED).update(
            status=GroupStatus.NEW,
            note=Concat(F("note"), Value(("\n" if group.note else "") + seen_again)),
        )
    return row


def group_of_difference(scope: str, difference: str) -> Group | None:
    """The group of the latest reduced finding whose answers differed the same way."""
    hit = (
        Finding.objects.filter(group__scope=scope, difference=difference[:300])
        .exclude(reduced_query="")
        .select_related("group")
        .order_by("-pk")
        .first()
    )
    return hit.group if hit is not None else None


def group_of_query(scope: str, raw_signature: str) -> Group | None:
    """The group an identical unreduced query (same shape, kind and error) went to."""
    hit = (
        Finding.objects.filter(group__scope=scope, raw_signature=raw_signature)
        .select_related("group")
        .first()
    )
    return hit.group if hit is not None else None


def set_status(group: Group, status: str, *, link: str = "", note: str = "") -> Group:
    """Mark a group new, known (with a link to the bug report), fixed or ignored."""
    if status not in GroupStatus.values:
        raise AssayError(
            f"Unknown status {status!r}: one of {', '.join(GroupStatus.values)}.",
            code="bad_status",
        )
    link = link.strip()
    if status == GroupStatus.KNOWN and not (link or group.link):
        raise AssayError("A known group needs a link to its bug report.", code="link_required")
    if link and not link.startswith(("http://", "https://")):
        raise AssayError(f"The link {link!r} is not an http(s) URL.", code="bad_link")
    group.status = status
    fields = ["status"]
    if link:
        group.link = link[:500]
        fields.append("link")
    if note:  # only a note given is written: a "seen again" note meanwhile is kept otherwise
        group.note = note
        fields.append("note")
    group.save(update_fields=fields)
    return group
