"""Triage: a test's or a failure cluster's defect type, ticket, mute (with expiry) and comments.

One triage per target: setting it again changes it (the API's POST and the pages' form are
both "set the triage of this target"). Every write records who and when; a comment is its own
row. Muting changes no result: the read paths (results.selectors.triage) leave muted tests out
of regressions, red counts, flaky alerts and e-mails while the mute is active.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import AssayError, Conflict
from results.models import FINGERPRINT_RE, DefectType, Project, Triage, TriageComment
from results.selectors.triage import Target

TICKET_MAX = Triage._meta.get_field("ticket").max_length
COMMENT_MAX = 10_000
_UNSET = object()


@dataclass
class TriageChange:
    """What a write may change; None leaves a field as it is (a new triage's defaults)."""

    defect_type: str | None = None
    ticket: str | None = None
    muted: bool | None = None
    muted_until: datetime | None | object = _UNSET  # None clears the expiry
    comment: str = ""


def target_of(
    *,
    project: str = "",
    test_name: str = "",
    host: str = "",
    context: str = "",
    fingerprint: str = "",
) -> Target:
    """A target from names, checked: a cluster's fingerprint alone, or a project and a test."""
    fingerprint = fingerprint.strip()
    if fingerprint:
        if project or test_name or host or context:
            raise AssayError(
                "Triage a test (project, test_name, optionally host and context) or a cluster "
                "(fingerprint), not both.",
                code="bad_target",
            )
        if not FINGERPRINT_RE.match(fingerprint):
            raise AssayError(
                f"fingerprint={fingerprint[:40]!r}: a cluster's fingerprint is 16 hex digits.",
                code="bad_fingerprint",
            )
        return Target(fingerprint=fingerprint)
    if not project or not test_name:
        raise AssayError(
            "Say what to triage: a project and a test_name (optionally host and context), or "
            "a cluster's fingerprint.",
            code="bad_target",
        )
    for name, value, limit in (
        ("project", project, 200),
        ("test_name", test_name, 1000),
        ("host", host, 200),
        ("context", context, 200),
    ):
        _check_text(name, value, limit)
    project_id = Project.objects.filter(name=project).values_list("pk", flat=True).first()
    if project_id is None:
        raise AssayError(f"There is no project {project[:100]!r}.", code="unknown_project")
    return Target(project_id=project_id, test_name=test_name, host=host, context=context)


def _check_text(name: str, value: str, limit: int, code: str = "invalid") -> None:
    """What a database column can hold: at most `limit` characters, no NUL, no lone UTF-16
    surrogate (both a 500 once they reached the database)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise AssayError(
            f"{name} holds a lone UTF-16 surrogate: send valid Unicode.", code=code
        ) from None
    if len(value) > limit or "\x00" in value:
        raise AssayError(
            f"{name} holds more than {limit:,} characters, or a NUL character.", code=code
        )


def _checked(change: TriageChange) -> None:
    if change.defect_type is not None and change.defect_type not in DefectType.values:
        raise AssayError(
            f"defect_type={str(change.defect_type)[:40]!r}: one of {', '.join(DefectType.values)}.",
            code="bad_defect_type",
        )
    if change.ticket:
        _check_text("The ticket", change.ticket, TICKET_MAX, code="bad_link")
        change.ticket = change.ticket.strip()
        try:
            URLValidator(schemes=["http", "https"])(change.ticket)
            if len(change.ticket) > TICKET_MAX:
                raise ValidationError("too long")
        except ValidationError:
            raise AssayError(
                f"The ticket {change.ticket[:100]!r} is not an http(s) URL of at most "
                f"{TICKET_MAX} characters.",
                code="bad_link",
            ) from None
    until = change.muted_until
    if isinstance(until, datetime) and timezone.is_naive(until):
        change.muted_until = until.replace(tzinfo=UTC)
    _check_text("The comment", change.comment, COMMENT_MAX)


def _apply(triage: Triage, change: TriageChange, who: str, now: datetime) -> None:
    if change.defect_type is not None:
        triage.defect_type = change.defect_type
    if change.ticket is not None:
        triage.ticket = change.ticket
    if change.muted is not None:
        triage.muted = change.muted
    if change.muted_until is not _UNSET:
        triage.muted_until = change.muted_until
    triage.updated_by, triage.updated_at = who[:150], now


def set_triage(target: Target, change: TriageChange, *, who: str) -> tuple[Triage, bool]:
    """Create or change the triage of `target`: (triage, created)."""
    _checked(change)
    now = timezone.now()
    with transaction.atomic():
        triage = Triage.objects.select_for_update().filter(**target.lookup()).first()
        created = triage is None
        if created:
            triage = Triage(**target.lookup(), created_by=who[:150], created_at=now)
        _apply(triage, change, who, now)
        try:
            with transaction.atomic():
                triage.save()
        except IntegrityError:  # set at the same moment by someone else: theirs stands
            raise Conflict(
                "This target was triaged by someone else just now: reload and try again.",
                code="triage_conflict",
            ) from None
        if change.comment.strip():
            add_comment(triage, change.comment, who=who)
    return triage, created


def update_triage(triage: Triage, change: TriageChange, *, who: str) -> Triage:
    """Change an existing triage (the API's PATCH)."""
    _checked(change)
    with transaction.atomic():
        _apply(triage, change, who, timezone.now())
        triage.save()
        if change.comment.strip():
            add_comment(triage, change.comment, who=who)
    return triage


def add_comment(triage: Triage, text: str, *, who: str) -> TriageComment:
    text = text.strip()
    if not text:
        raise AssayError("A comment needs some text.", code="empty_comment")
    _check_text("The comment", text, COMMENT_MAX)
    return TriageComment.objects.create(triage=triage, author=who[:150], text=text)


def delete_triage(triage: Triage) -> int:
    """Remove a triage and its comments (the test or cluster is untriaged and unmuted at
    once: the read paths decide "muted" at query time). Returns how many comments went."""
    with transaction.atomic():
        _, deleted = triage.delete()
    return deleted.get(TriageComment._meta.label, 0)
