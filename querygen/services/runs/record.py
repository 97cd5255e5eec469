"""A finished run in results (one test per group) and its report and announcement."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from core.exceptions import AssayError
from core.secrets import scrub_each
from querygen.models import Group, GroupStatus, QuerygenRun
from results.services import ImportDefaults, ParsedResult, delete_runs, find_runs, record_run
from results.services.notify import notify_contacts

log = logging.getLogger(__name__)


# The counts a run keeps (checkpointed, recorded in results' summary).
COUNT_FIELDS = (
    "queries",
    "matches",
    "errors",
    "row_counts",
    "contents",
    "crashes",
    "timeouts",
    "too_big",
    "both_errors",
    "skipped",
    "reference_ok",
)

# --- results and the report -----------------------------------------------------------------------


def results_run_name(r: QuerygenRun) -> str:
    # The prefix is per pair, so a run compares with the previous run of its pair.
    name = r.pair.name if r.pair is not None else "custom"
    return f"querygen-{name.replace('_', '-')}_{r.pk}"


def run_groups(r: QuerygenRun):
    """The groups this run's findings went to, with how many each."""
    return (
        Group.objects.filter(samples__run=r)
        .annotate(in_run=Count("samples", filter=Q(samples__run=r)))
        .order_by("status", "-in_run", "pk")
    )


def _url(name: str, *args: Any) -> str:
    return settings.ASSAY_BASE_URL + reverse(name, args=args)


def record_results(r: QuerygenRun) -> str:
    """One test per group the run saw (new: F; known: k; ignored: left out) and a passing
    summary, as results run querygen-<pair>_<run id>. Recorded afresh if done before."""
    name = results_run_name(r)
    base = f"querygen.{(r.pair.name if r.pair else 'custom').replace('.', '-')}"
    now = timezone.now()
    common = {"test_run": name, "project": "querygen", "start_time": r.started_at, "end_time": now}
    out = [
        ParsedResult(
            test_name=f"{base}.summary",
            status="P",
            log=f"{r.scope}, seed {r.seed}: {r.queries} queries, {r.findings} findings",
            tra={k: str(getattr(r, k)) for k in (*COUNT_FIELDS, "findings", "seed")},
            **common,
        )
    ]
    for group in run_groups(r):
        if group.status == GroupStatus.IGNORED:
            continue
        sample = group.samples.filter(run=r).first()
        sql = next(iter((sample.reduced_sql or sample.sql).values()), "") if sample else ""
        link = f"\nbug report: {group.link}" if group.link else ""
        out.append(
            ParsedResult(
                test_name=f"{base}.groups.{group.signature}",
                status="k" if group.status == GroupStatus.KNOWN else "F",
                log=f"{group.title}\n{sql}\n{_url('querygen:group-detail', group.pk)}{link}",
                tra={"findings": str(group.in_run), "kind": group.kind, "status": group.status},
                **common,
            )
        )
    with transaction.atomic():
        delete_runs(find_runs(name))
        out = scrub_each(out, "log")  # results are public: no secret in them
        record_run(out, ImportDefaults(run=name), source=f"querygen run {r.pk}")
    return name


def report(r: QuerygenRun) -> str:
    """The run's report: what ran, what it found, new groups first."""
    share = r.reference_ok / r.queries if r.queries else 0.0
    lines = [
        f"querygen run {r.pk}: {r.scope}",
        f"seed {r.seed}, queries {r.first_index}..{r.next_index - 1}; "
        f"SUT {r.sut_version or '?'}; reference {r.reference_version or '-'}",
        f"{r.queries} queries in {r.wall_seconds:.0f} s ({r.queries_per_second:.1f}/s); "
        f"reference answered {share:.0%}",
        f"errors {r.errors}, row counts {r.row_counts}, contents {r.contents}, "
        f"crashes {r.crashes}, timeouts {r.timeouts}, too big {r.too_big}, "
        f"both refused {r.both_errors}",
        f"{r.findings} findings ({r.reductions} reduced) in {run_groups(r).count()} groups",
        "",
    ]
    for group in run_groups(r):
        flag = {"new": "NEW  ", "known": "known", "ignored": "ignored", "fixed": "fixed"}
        lines.append(
            f"  {flag.get(group.status, group.status)} {group.in_run:5d}x  {group.title[:120]}"
        )
        lines.append(f"        {_url('querygen:group-detail', group.pk)}")
        if group.link:
            lines.append(f"        bug report: {group.link}")
    return "\n".join(lines)


def announce(r: QuerygenRun) -> bool:
    """E-mail the contacts of project `querygen` (results' contacts: prefix
    `querygen.<pair>.`) the run's failing groups, when the run found a bug no run found before:
    a pair runs many times a day, and its known failures alone are no news. Mail trouble is
    logged, never raised: the run did its work; `manage.py notify_contacts` can send again."""
    new = Group.objects.filter(first_run=r, status=GroupStatus.NEW, merged_into__isnull=True)
    if not new.exists():
        return False
    try:
        summary = notify_contacts(r.results_run)
    except AssayError as exc:
        log.warning("querygen run %s: announcement not sent: %s", r.pk, exc.detail)
        return False
    r.log(f"announced to {len(summary.messages)} contact(s)")
    return bool(summary.messages)
