"""Findings into groups: one transaction per finding, so a group's count is the number of its
finding rows, and a finding checked twice (a run picked up again after a crash) is one row.

Groups merged by hand (merge_groups) stay as rows pointing at their target (merged_into): a
later finding of a merged group's signature lands where the chain of merges ends."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from core.exceptions import AssayError, NotFound
from core.jobs import LeaseLost
from core.models import JobState
from core.secrets import scrub
from querygen import selectors
from querygen.engine.compare import Kind
from querygen.engine.signature import KnownIssue as EngineKnownIssue
from querygen.engine.signature import match_known, normalize_error
from querygen.models import Finding, Group, GroupStatus, KnownIssue, QuerygenRun

if TYPE_CHECKING:  # sqlglot: loaded when used, not at the start-up (a test of import_results)
    from querygen.engine.oracles import Check
    from querygen.engine.pipeline import Reduced
    from querygen.engine.runner import FailedCheck

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
                "error": scrub(outcome.error)[:2000],
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


def place_finding(
    run: QuerygenRun,
    finding: FailedCheck,
    reduce: Callable[[FailedCheck], Reduced | None],
    known: list[EngineKnownIssue],
    by_difference: dict[str, Group],
    *,
    fence: bool = False,
) -> Finding | None:
    """The whole grouping rule: where a finding goes, reducing it only when nothing cheaper
    places it. In order:

    1. checked again after a crash (this run has its index): recorded the first time;
    2. a query seen before (the same unreduced signature) goes to that query's group;
    3. a difference this run saw before (pipeline.difference_key: the kind, refusing sides
       and normalized error, or how the differing values differ) joins that group; an error or
       a crash (whose normalized message names the bug) that an earlier run saw joins its
       group too, unreduced: each run would otherwise reduce it to a new shape, a new group;
    4. otherwise ``reduce`` (None when the run's reduction budget is spent): the reduced
       query's signature decides, or, bisected over a ladder of releases, the release that
       fixed it with the kind, the error and the reduced query's constructs;
    5. unreduced: a difference reduced in an earlier run joins that group; anything else is
       grouped by its query as generated.

    Whatever group that is, a group merged by hand sends it on to where its merges end
    (record_finding). ``by_difference`` is the run's own map from difference to group."""
    if Finding.objects.filter(run=run, index=finding.index).exists():
        return None
    group = group_of_query(run.scope, finding.signature)
    from querygen.engine.pipeline import difference_key

    difference = difference_key(finding.check)
    if group is None and difference is not None:
        group = by_difference.get(difference)
        if group is None and finding.kind in (Kind.ERROR, Kind.CRASH):
            group = group_of_difference(run.scope, difference)
    reduced = reduce(finding) if group is None else None
    if group is None and reduced is None and difference is not None:
        group = group_of_difference(run.scope, difference)
    row = record_finding(run, finding, reduced, group, known, difference=difference, fence=fence)
    if row is not None and difference is not None:
        by_difference.setdefault(difference, row.group)
    return row


def record_finding(
    run: QuerygenRun,
    finding: FailedCheck,
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
    reduction needed); with neither, the finding is grouped by its unreduced signature. A group
    merged by hand (merged_into) is followed to where its merges end.
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
            error = scrub(error)  # shown on the group's page; the signature is made already
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
                    "fixed_in": reduced.fixed_in if reduced is not None else "",
                },
            )
        # A group merged by hand into another: the finding is where the merges end.
        group = _live_locked(group)
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
                    scripts=reduced.scripts() if reduced is not None else {},
                    fixed_in=reduced.fixed_in if reduced is not None else "",
                    original_rows=reduced.original_rows if reduced is not None else 0,
                    reduced_rows=_rows_left(reduced),
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


def _live_locked(group: Group) -> Group:
    """The group at the end of ``group``'s merges, its row locked: a merge committed between
    reading the chain and locking the row is followed too."""
    for _ in range(3):
        end = selectors.live_group(group)
        locked = Group.objects.select_for_update().get(pk=end.pk)
        if locked.merged_into_id == end.merged_into_id:
            return locked
        group = locked
    return locked


def _rows_left(reduced: Reduced | None) -> int | None:
    if reduced is None or reduced.database is None:
        return None
    return reduced.database.rows


def group_of_difference(scope: str, difference: str) -> Group | None:
    """The group of the latest reduced finding whose answers differed the same way."""
    hit = (
        Finding.objects.filter(group__scope=scope, difference=difference[:300])
        .exclude(reduced_query="")
        .select_related("group")
        .order_by("-pk")
        .first()
    )
    return selectors.live_group(hit.group) if hit is not None else None


def group_of_query(scope: str, raw_signature: str) -> Group | None:
    """The group an identical unreduced query (same shape, kind and error) went to."""
    hit = (
        Finding.objects.filter(group__scope=scope, raw_signature=raw_signature)
        .select_related("group")
        .first()
    )
    return selectors.live_group(hit.group) if hit is not None else None


def set_status(group: Group, status: str, *, link: str = "", note: str = "") -> Group:
    """Mark a group new, known (with a link to the bug report), fixed or ignored."""
    _check_status(status)
    link = _checked_link(link)
    if status == GroupStatus.KNOWN and not (link or group.link):
        raise AssayError("A known group needs a link to its bug report.", code="link_required")
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


def _check_status(status: str) -> None:
    if status not in GroupStatus.values:
        raise AssayError(
            f"Unknown status {status!r}: one of {', '.join(GroupStatus.values)}.",
            code="bad_status",
        )


def _checked_link(link: str) -> str:
    """The link stripped, once it is an http(s) URL (or empty)."""
    link = link.strip()
    if not link:
        return link
    try:
        # The model's URLField holds it: a URL it would refuse is refused here (the fuzz test
        # stored "https://<control characters>", which the API's schema then said was no URL).
        URLValidator(schemes=["http", "https"])(link)
        if len(link) > Group._meta.get_field("link").max_length:
            raise ValidationError("too long")
    except ValidationError:
        raise AssayError(
            f"The link {link[:100]!r} is not an http(s) URL.", code="bad_link"
        ) from None
    return link


def _in_order(pks: list[int], *, lock: bool = False) -> list[Group]:
    """The groups of ``pks`` in that order, each once (``lock``: their rows locked in id order,
    so that two writers never deadlock); NotFound for ids that name no group."""
    pks = list(dict.fromkeys(pks))
    rows = Group.objects.select_for_update() if lock else Group.objects.all()
    found = {g.pk: g for g in rows.filter(pk__in=pks).order_by("pk")}
    missing = [pk for pk in pks if pk not in found]
    if missing:
        raise NotFound(f"No group {', '.join(map(str, missing))}.")
    return [found[pk] for pk in pks]


def _refuse_merged(group: Group) -> None:
    if group.merged_into_id is not None:
        end = selectors.live_group(group)
        raise AssayError(
            f"Group {group.pk} was merged into group {end.pk} already: use group {end.pk}.",
            code="merged_group",
        )


def _add_line(note: str, line: str) -> str:
    return f"{note}\n{line}" if note else line


def bulk_status(groups: list[Group], status: str, link: str = "", note: str = "") -> int:
    """Mark several groups at once, all or none (one transaction): the checks of set_status
    hold for each (known needs a link, given now or each group's own). A link given is each
    group's link; a note given is added to each group's note as a line (a group's own note is
    kept). Merged groups are refused: their target is the bug. The number of groups marked."""
    _check_status(status)
    link = _checked_link(link)
    if not groups:
        raise AssayError("Select at least one group.", code="no_groups")
    with transaction.atomic():
        rows = _in_order([g.pk for g in groups], lock=True)
        for row in rows:
            _refuse_merged(row)
            if status == GroupStatus.KNOWN and not (link or row.link):
                raise AssayError(
                    f"A known group needs a link to its bug report: group {row.pk} has none.",
                    code="link_required",
                )
        for row in rows:
            row.status = status
            fields = ["status"]
            if link:
                row.link = link[:500]
                fields.append("link")
            if note:
                row.note = _add_line(row.note, note)
                fields.append("note")
            row.save(update_fields=fields)
    return len(rows)


def merge_groups(target: Group, others: list[Group]) -> Group:
    """Merge ``others`` into ``target`` by hand (one bug that got several signatures), in one
    transaction: their findings become the target's, their counts are added, the target keeps
    the earliest first seen (and its run) and the latest last seen (and its run), its status,
    and its link (an empty one takes the first merged group's); a line per merged group is added
    to its note. The others stay as rows with ``merged_into`` set (and no findings): a later
    finding of their signature lands in the target, or where the target was merged since.

    Refused: no other group, a group merged into itself, groups of different scopes, a group
    merged already (as another or as the target: merge into where it went), and a merge that
    would make a loop. The target, as it is now."""
    if not others:
        raise AssayError(
            f"Select another group to merge into group {target.pk}.", code="merge_needs_two"
        )
    if any(g.pk == target.pk for g in others):
        raise AssayError(f"Group {target.pk} cannot be merged into itself.", code="merge_self")
    now = timezone.now()
    with transaction.atomic():
        target, *others = _in_order([target.pk, *(g.pk for g in others)], lock=True)
        chain = {g.pk: g for g in selectors.merge_chain(target)}
        for other in others:
            if other.pk in chain:
                raise AssayError(
                    f"Group {target.pk} was merged into group {other.pk} (directly or through "
                    f"others): merging group {other.pk} into it would make a loop.",
                    code="merge_cycle",
                )
        _refuse_merged(target)
        for other in others:
            _refuse_merged(other)
            if other.scope != target.scope:
                raise AssayError(
                    f"Group {other.pk} is of scope {other.scope!r} and group {target.pk} of "
                    f"{target.scope!r}: only groups of one scope merge.",
                    code="merge_scopes",
                )
        Finding.objects.filter(group__in=others).update(group=target)
        everyone = [target, *others]
        first = min(everyone, key=lambda g: g.first_seen)
        last = max(everyone, key=lambda g: g.last_seen)
        target.first_seen, target.first_run_id = first.first_seen, first.first_run_id
        target.last_seen, target.last_run_id = last.last_seen, last.last_run_id
        target.count += sum(g.count for g in others)
        target.link = target.link or next((g.link for g in others if g.link), "")
        for other in others:
            line = f"Merged group {other.pk} ({other.title}) into this one on {now:%Y-%m-%d}."
            target.note = _add_line(target.note, line)
        target.save(
            update_fields=[
                "first_seen", "first_run", "last_seen", "last_run", "count", "link", "note"
            ]
        )  # fmt: skip
        Group.objects.filter(pk__in=[g.pk for g in others]).update(merged_into=target, count=0)
    return target


BULK_ACTIONS = {
    GroupStatus.KNOWN.value: "mark known (with a link)",
    GroupStatus.FIXED.value: "mark fixed",
    GroupStatus.IGNORED.value: "ignore",
    GroupStatus.NEW.value: "reopen as new",
    "merge": "merge into the first",
}


@dataclass
class BulkDone:
    """What a bulk action did: how many groups it marked (or merged into the target), the
    groups as they are now (a merge: the target first), and a sentence saying so."""

    action: str
    count: int
    groups: list[Group]
    detail: str


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def bulk_action(ids: list[int], action: str, *, link: str = "", note: str = "") -> BulkDone:
    """The group list's form and ``POST groups/bulk/``: mark the groups ``ids`` with a status
    (``action`` is one of GroupStatus), or merge them into the first (``action`` "merge"; a
    link or note given is then the target's). One transaction: all or nothing. NotFound for
    ids that name no group."""
    if action not in BULK_ACTIONS:
        raise AssayError(
            f"Unknown action {action!r}: one of {', '.join(BULK_ACTIONS)}.", code="bad_action"
        )
    if not ids:
        raise AssayError("Select at least one group.", code="no_groups")
    rows = _in_order(ids)
    ids = [g.pk for g in rows]
    if action != "merge":
        n = bulk_status(rows, action, link=link, note=note)
        return BulkDone(action, n, _in_order(ids), f"Marked {_plural(n, 'group')} {action}.")
    if len(rows) < 2:
        raise AssayError(
            "Select at least two groups to merge: the others are merged into the first.",
            code="merge_needs_two",
        )
    link = _checked_link(link)
    with transaction.atomic():
        target = merge_groups(rows[0], rows[1:])
        if link or note:
            target.link = link[:500] if link else target.link
            target.note = _add_line(target.note, note) if note else target.note
            target.save(update_fields=["link", "note"])
    names = ", ".join(map(str, ids[1:]))
    return BulkDone(
        action,
        len(ids) - 1,
        _in_order(ids),
        f"Merged {'group' if len(ids) == 2 else 'groups'} {names} into group {target.pk}.",
    )
