"""E-mail announcements of a run to its contacts (Pandokia's `pdk notify`).

Each address gets one e-mail per run: the contacts that share an address are merged, one
section per project, listing the F, E and M results under that address's prefixes of the
project (a test under two of its prefixes is listed once). Muted tests and clusters
(results.selectors.triage) are left out: a quarantined test e-mails nobody.

Reading is a fixed number of queries whatever the number of contacts: the contacts, the run's
F/E/M results of their projects (no logs), the first lines of the logs a "full" e-mail shows
(one query per 500 of them), the run's announcements. Grouping happens in Python: a run's
failures are few next to its results.

Sending cannot be part of a transaction, so each address is claimed, sent, then marked:
1. claim: insert Announcement(run, email) with sent_at empty (unique per run and address);
   a second notifier running at the same time fails to insert and skips the address;
2. send; if the mail server refuses, the claim is removed and the next run retries;
3. mark: sent_at = now.
A run is therefore never announced twice to an address in normal operation. A notifier killed
between 1 and 3 leaves a claim; after CLAIM_TIMEOUT it counts as unsent and the next run
sends it (the one case that can send twice: at least once beats never).
"""

from __future__ import annotations

import logging
import smtplib
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models.functions import Substr
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.exceptions import AssayError
from results.models import STATUS_LABELS, Announcement, Contact, TestResult, TestRun
from results.selectors.triage import unmuted
from results.services.runs import get_run, parse_recurring

log = logging.getLogger(__name__)

REPORTED = ("F", "E", "M")
LOG_LINES_PER_TEST = 10  # "full" e-mails show at most this many lines of each log
LOG_HEAD_CHARS = 4000  # read from the database per log: enough for LOG_LINES_PER_TEST lines
LOG_LINE_CHARS = 200
LOG_QUERY_CHUNK = 500  # ids per query (SQLite caps the variables of one statement)
CLAIM_TIMEOUT = timedelta(minutes=15)
SUBJECT_SCOPES = 2  # scopes named in a subject before "and N more"
SUBJECT_MAX = Announcement._meta.get_field("subject").max_length


# --- what an e-mail says -------------------------------------------------------------------


@dataclass
class Item:
    """One F/E/M result as an e-mail lists it."""

    result_id: int
    status: str
    test_name: str
    host: str
    context: str
    url: str
    log_lines: list[str] = field(default_factory=list)
    log_cut: bool = False  # the log has more lines than shown

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def where(self) -> str:
        return " ".join(part for part in (self.host, self.context) if part)


@dataclass
class Section:
    """The part of an e-mail about one project: every prefix of the address in it."""

    project: str
    prefixes: list[str]  # "" is the whole project
    full: bool
    line_limit: int
    counts: dict[str, int]  # F, E, M over every matching result, listed or not
    items: list[Item]
    omitted: int  # matching results not listed (line limit)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def scopes(self) -> list[str]:
        """How a subject names this section: `engine` or `engine.storage` per prefix."""
        if "" in self.prefixes:
            return [self.project]
        return [f"{self.project}.{prefix.rstrip('.')}" for prefix in self.prefixes]

    @property
    def counts_text(self) -> str:
        return counts_text(self.counts)

    @property
    def prefixes_text(self) -> str:
        if "" in self.prefixes:
            return "all tests"
        return "tests under " + ", ".join(f"{prefix}*" for prefix in self.prefixes)


@dataclass
class Message:
    email: str
    subject: str
    sections: list[Section]
    text: str
    html: str

    @property
    def tests(self) -> int:
        return sum(section.total for section in self.sections)


@dataclass
class NotifySummary:
    run: TestRun
    dry_run: bool = False
    messages: list[Message] = field(default_factory=list)  # sent (would be, in a dry run)
    already: list[str] = field(default_factory=list)  # announced before: --force sends again
    busy: list[str] = field(default_factory=list)  # another notifier is sending right now
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, error)
    quiet: list[str] = field(default_factory=list)  # addresses with nothing to report
    contacts: int = 0


def counts_text(counts: dict[str, int]) -> str:
    """ "3 failing, 1 error, 2 missing" (statuses with none left out)."""
    parts = []
    if counts.get("F"):
        parts.append(f"{counts['F']} failing")
    if counts.get("E"):
        parts.append(f"{counts['E']} error{'' if counts['E'] == 1 else 's'}")
    if counts.get("M"):
        parts.append(f"{counts['M']} missing")
    return ", ".join(parts) or "nothing to report"


def _subject(run: TestRun, sections: list[Section]) -> str:
    totals = {s: sum(section.counts.get(s, 0) for section in sections) for s in REPORTED}
    scopes = [scope for section in sections for scope in section.scopes]
    named = ", ".join(scopes[:SUBJECT_SCOPES])
    if len(scopes) > SUBJECT_SCOPES:
        named += f" and {len(scopes) - SUBJECT_SCOPES} more"
    # Names came from result files: no line break may reach a header.
    subject = " ".join(f"[Assay] {run.name}: {counts_text(totals)} in {named}".split())
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 3] + "..."


# --- reading: a fixed number of queries ----------------------------------------------------


@dataclass
class _Row:
    id: int
    test_name: str
    status: str
    host: str
    context: str


@dataclass
class _Wish:
    """What one address asks of one project (its contacts there, merged)."""

    prefixes: set[str] = field(default_factory=set)
    full: bool = False
    line_limit: int = 0


def _matching(rows: list[_Row], names: list[str], prefixes: Iterable[str]) -> list[_Row]:
    """Rows (sorted by test name) whose name starts with any prefix, each once, in order."""
    if "" in prefixes:
        return rows
    hits: set[int] = set()
    for prefix in prefixes:
        i = bisect_left(names, prefix)
        while i < len(rows) and names[i].startswith(prefix):
            hits.add(i)
            i += 1
    return [rows[i] for i in sorted(hits)]


def _log_heads(ids: list[int]) -> dict[int, str]:
    heads: dict[int, str] = {}
    for start in range(0, len(ids), LOG_QUERY_CHUNK):
        chunk = ids[start : start + LOG_QUERY_CHUNK]
        heads.update(
            TestResult.objects.filter(pk__in=chunk)
            .annotate(head=Substr("log", 1, LOG_HEAD_CHARS))
            .values_list("pk", "head")
        )
    return heads


def _fit(section: Section, rows: list[_Row], heads: dict[int, str], base: str) -> None:
    """Fill section.items within its line limit: a line per test, plus log lines if full."""
    budget = section.line_limit
    for row in rows:
        if budget <= 0:
            break
        budget -= 1
        item = Item(
            row.id,
            row.status,
            row.test_name,
            row.host,
            row.context,
            base + reverse("results:result-detail", args=[row.id]),
        )
        if section.full:
            lines = heads.get(row.id, "").rstrip().splitlines()
            shown = lines[: min(LOG_LINES_PER_TEST, budget)]
            item.log_lines = [
                line if len(line) <= LOG_LINE_CHARS else line[: LOG_LINE_CHARS - 3] + "..."
                for line in shown
            ]
            item.log_cut = len(lines) > len(shown) or len(heads.get(row.id, "")) >= LOG_HEAD_CHARS
            budget -= len(shown)
        section.items.append(item)
    section.omitted = len(rows) - len(section.items)


def build_messages(run: TestRun) -> tuple[list[Message], list[str], int]:
    """The e-mails the run calls for, one per address: (messages, quiet addresses, contacts).

    Read-only; the same whether or not the run was announced before."""
    contacts = list(Contact.objects.select_related("project").order_by("email", "project__name"))
    if not contacts:
        return [], [], 0
    wishes: dict[str, dict[int, _Wish]] = defaultdict(lambda: defaultdict(_Wish))
    project_names = {}
    for contact in contacts:
        wish = wishes[contact.email.lower()][contact.project_id]
        wish.prefixes.add(contact.test_prefix)
        wish.full = wish.full or contact.format == Contact.Format.FULL
        wish.line_limit = max(wish.line_limit, contact.line_limit)
        project_names[contact.project_id] = contact.project.name

    by_project: dict[int, list[_Row]] = defaultdict(list)
    fields = ("id", "project_id", "test_name", "status", "host", "context")
    for pk, project_id, *rest in (
        # Muted tests (and muted clusters) are quarantined: nobody is e-mailed about them.
        unmuted(
            TestResult.objects.filter(
                run=run, status__in=REPORTED, project_id__in=list(project_names)
            )
        )
        .order_by()
        .values_list(*fields)
    ):
        by_project[project_id].append(_Row(pk, *rest))
    names_of: dict[int, list[str]] = {}
    for project_id, rows in by_project.items():
        # Sorted here, not in SQL: PostgreSQL's collation may not order names as Python does.
        rows.sort(key=lambda r: (r.test_name, r.host, r.context))
        names_of[project_id] = [r.test_name for r in rows]

    # Sections and the rows each may list (at most line_limit), then the logs those need.
    planned: dict[str, list[tuple[Section, list[_Row]]]] = {}
    quiet: list[str] = []
    need_logs: set[int] = set()
    for email, projects in wishes.items():
        sections = []
        for project_id, wish in sorted(projects.items(), key=lambda kv: project_names[kv[0]]):
            rows = _matching(by_project[project_id], names_of.get(project_id, []), wish.prefixes)
            if not rows:
                continue
            counts = {s: 0 for s in REPORTED}
            for row in rows:
                counts[row.status] += 1
            section = Section(
                project=project_names[project_id],
                prefixes=sorted(wish.prefixes),
                full=wish.full,
                line_limit=wish.line_limit,
                counts=counts,
                items=[],
                omitted=0,
            )
            sections.append((section, rows))
            if wish.full:
                need_logs.update(row.id for row in rows[: wish.line_limit])
        if sections:
            planned[email] = sections
        else:
            quiet.append(email)
    heads = _log_heads(sorted(need_logs)) if need_logs else {}

    base = settings.ASSAY_BASE_URL
    run_url = base + reverse("results:run-detail", args=[run.name])
    messages = []
    for email, pairs in planned.items():
        for section, rows in pairs:
            _fit(section, rows, heads, base)
        sections = [section for section, _ in pairs]
        context = {
            "run": run,
            "run_url": run_url,
            "email": email,
            "sections": sections,
            "total": counts_text(
                {s: sum(sec.counts.get(s, 0) for sec in sections) for s in REPORTED}
            ),
        }
        messages.append(
            Message(
                email=email,
                subject=_subject(run, sections),
                sections=sections,
                text=render_to_string("results/email/announcement.txt", context),
                html=render_to_string("results/email/announcement.html", context),
            )
        )
    return messages, quiet, len(contacts)


# --- sending: claim, send, mark --------------------------------------------------------------


def _claim(run: TestRun, email: str, *, force: bool) -> tuple[Announcement | None, str]:
    """Take the right to send `email` about `run`: (row, "") or (None, why not)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return Announcement.objects.create(run=run, email=email, claimed_at=now), ""
    except IntegrityError:
        pass
    row = Announcement.objects.filter(run=run, email=email).first()
    if row is None:  # removed by a failing notifier in between: next run
        return None, "busy"
    if row.sent_at is None and row.claimed_at > now - CLAIM_TIMEOUT:
        return None, "busy"  # another notifier is sending it right now, forced or not
    if force:
        return row, ""
    if row.sent_at is not None:
        return None, "already"
    # A claim left by a notifier that died mid-send: take it over (one taker wins).
    taken = Announcement.objects.filter(
        pk=row.pk, sent_at__isnull=True, claimed_at=row.claimed_at
    ).update(claimed_at=now)
    return (row, "") if taken else (None, "busy")


def _email(run: TestRun, message: Message, connection) -> EmailMultiAlternatives:
    mail = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.email],
        connection=connection,
        # RFC 3834: auto-responders should not answer a machine's mail.
        headers={"Auto-Submitted": "auto-generated", "X-Assay-Run": run.name},
    )
    mail.attach_alternative(message.html, "text/html")
    return mail


def _recorded(run: TestRun) -> dict[str, Announcement]:
    return {a.email: a for a in Announcement.objects.filter(run=run)}


def notify_run(
    run: TestRun,
    *,
    force: bool = False,
    dry_run: bool = False,
    on_sent: Callable[[Message], None] | None = None,
) -> NotifySummary:
    """E-mail each contact address the run's F/E/M tests under its prefixes, once per run.

    `force` sends again to addresses announced before; `dry_run` sends and records nothing
    (summary.messages is what would go out). A message the mail server refuses is listed in
    summary.failed and left unrecorded, so the next run retries it; AssayError when the mail
    server cannot be reached at all (nothing recorded)."""
    summary = NotifySummary(run, dry_run=dry_run)
    messages, summary.quiet, summary.contacts = build_messages(run)
    recorded = _recorded(run) if messages else {}
    stale = timezone.now() - CLAIM_TIMEOUT
    if dry_run:
        for message in messages:
            row = recorded.get(message.email)
            if force or row is None or (row.sent_at is None and row.claimed_at <= stale):
                summary.messages.append(message)
            else:
                (summary.already if row.sent_at else summary.busy).append(message.email)
        return summary

    # Skip the known-done cheaply; _claim still decides for the rest (another notifier).
    todo = []
    for message in messages:
        row = recorded.get(message.email)
        if not force and row is not None and row.sent_at is not None:
            summary.already.append(message.email)
        else:
            todo.append(message)
    if not todo:
        return summary

    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as exc:
        raise AssayError(
            f"Cannot reach the mail server {settings.EMAIL_HOST}:{settings.EMAIL_PORT} "
            f"({exc}); nothing was sent.",
            code="mail_unavailable",
        ) from None
    try:
        for message in todo:
            row, why = _claim(run, message.email, force=force)
            if row is None:
                (summary.already if why == "already" else summary.busy).append(message.email)
                continue
            try:
                if not _email(run, message, connection).send():
                    raise smtplib.SMTPException("the mail backend sent nothing")
            except (smtplib.SMTPException, OSError, ValueError) as exc:
                # ValueError: Django's BadHeaderError. Unclaim so the next run retries; a
                # forced resend keeps its earlier record.
                Announcement.objects.filter(pk=row.pk, sent_at__isnull=True).delete()
                summary.failed.append((message.email, str(exc) or type(exc).__name__))
                log.warning("announcement of %s to %s failed: %s", run.name, message.email, exc)
                connection.close()  # the next send opens a fresh connection
                continue
            Announcement.objects.filter(pk=row.pk).update(
                sent_at=timezone.now(), subject=message.subject, tests=message.tests
            )
            summary.messages.append(message)
            if on_sent is not None:
                on_sent(message)
    finally:
        connection.close()
    return summary


def notify_contacts(
    run_name: str,
    *,
    force: bool = False,
    dry_run: bool = False,
    on_sent: Callable[[Message], None] | None = None,
) -> NotifySummary:
    """notify_run for a run name (aliases such as daily_latest allowed)."""
    return notify_run(get_run(run_name), force=force, dry_run=dry_run, on_sent=on_sent)


# --- check_expected's hook -----------------------------------------------------------------


def notify_after_check_expected(run: TestRun, run_class: str | None = None) -> None:
    """Announce a recurring run once check_expected's M records are committed, if
    ASSAY_NOTIFY_AFTER_CHECK_EXPECTED is on (true, or a list naming `run_class`). Mail trouble
    is logged, never raised: check_expected did its work, and an unsent announcement is
    retried by the next call or by notify_contacts."""
    wanted = settings.ASSAY_NOTIFY_AFTER_CHECK_EXPECTED
    if not wanted or (isinstance(wanted, list) and run_class not in wanted):
        return
    parsed = parse_recurring(run.name)
    if parsed is None or parsed.run_date is None:
        return
    # robust: an unexpected error is logged by Django instead of reaching check_expected's caller.
    transaction.on_commit(lambda: _announce_logged(run.pk), robust=True)


def _announce_logged(run_pk: int) -> NotifySummary | None:
    run = TestRun.objects.filter(pk=run_pk, deleted_at__isnull=True).first()
    if run is None:
        return None
    try:
        summary = notify_run(run)
    except AssayError as exc:
        log.error("announcing %s after check_expected: %s", run.name, exc.detail)
        return None
    log.info(
        "announced %s: %d e-mail(s) sent, %d already announced, %d failed",
        run.name,
        len(summary.messages),
        len(summary.already),
        len(summary.failed),
    )
    return summary
