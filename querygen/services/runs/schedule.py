"""Pairs started by the schedule."""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.db import retry_on_busy
from core.exceptions import AssayError
from core.models import JobState
from querygen.models import Pair, QuerygenRun
from querygen.services.runs.submit import submit_run

log = logging.getLogger(__name__)

PENDING = (JobState.QUEUED, JobState.RUNNING)

# --- the schedule -------------------------------------------------------------------------------


def start_due_runs() -> list[QuerygenRun]:
    """Scheduled: a run for every enabled pair that is due and has none pending."""
    started = []
    now = timezone.now()
    for pair in Pair.objects.filter(enabled=True).select_related("sut", "reference"):
        if pair.last_started_at and pair.last_started_at > now - timedelta(
            minutes=pair.every_minutes
        ):
            continue
        if pair.runs.filter(state__in=PENDING).exists():
            continue
        run = retry_on_busy(functools.partial(_start_pair, pair, now))
        if run is not None:
            started.append(run)
    return started


def _start_pair(pair: Pair, now: datetime) -> QuerygenRun | None:
    """The pair's claim and its run in one transaction: a busy database that fails the submit
    rolls the claim back too, so the tick is retried (core.db.retry_on_busy), not lost until
    the pair's next interval."""
    with transaction.atomic():
        # Two schedulers racing: the one whose conditional update wins starts the run.
        won = Pair.objects.filter(pk=pair.pk, last_started_at=pair.last_started_at).update(
            last_started_at=now
        )
        if not won:
            return None
        try:
            with transaction.atomic():
                return submit_pair(pair)
        except AssayError as exc:  # an engine gone, say: the other pairs still start
            log.warning("querygen pair %s not started: %s", pair, exc)
            Pair.objects.filter(pk=pair.pk).update(last_error=exc.detail)
            return None


def submit_pair(pair: Pair, **overrides: Any) -> QuerygenRun:
    """A run of the pair now; the pair's interval counts from it."""
    Pair.objects.filter(pk=pair.pk).update(last_started_at=timezone.now())
    run = submit_run(**_pair_options(pair, overrides))
    Pair.objects.filter(pk=pair.pk).exclude(last_error="").update(last_error="")
    return run


def _pair_options(pair: Pair, overrides: dict[str, Any]) -> dict[str, Any]:
    return {
        "sut": pair.sut,
        "reference": pair.reference,
        "oracle": pair.oracle,
        "sut_python": pair.sut_python,
        "ladder": pair.ladder,
        "profile": pair.profile,
        "budget_queries": pair.budget_queries,
        "budget_seconds": pair.budget_seconds,
        "timeout": pair.timeout,
        "max_rows": pair.max_rows,
        "label": f"{pair.name} (scheduled)",
        "pair": pair,
        **overrides,
    }
