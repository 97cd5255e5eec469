"""Filling failure messages and fingerprints of results imported before they existed: the
first line of each failing result's stored log (as pdk's import takes it), in chunks, each
its own short transaction, so a big database is done without holding a lock for long and an
interrupted refresh resumes where it stopped (what is filled is not looked at again)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from core.exceptions import NotFound
from core.progress import Progress
from results.importers.messages import FAILING_STATUSES, failure_message, fingerprint
from results.models import TestResult, TestRun

CHUNK = 2000


@dataclass
class RefreshSummary:
    examined: int = 0  # failing results without a fingerprint
    filled: int = 0  # given a message and fingerprint
    without_log: int = 0  # no log line to take a message from


def refresh_messages(
    run: str | None = None, *, chunk: int = CHUNK, progress: Progress | None = None
) -> RefreshSummary:
    """Give every failing (F, E, M) result that has no fingerprint one, from its message if it
    has one, else from its log's first non-empty line; only the results of `run` if named."""
    todo = TestResult.objects.filter(status__in=sorted(FAILING_STATUSES), fingerprint="")
    if run is not None:
        found = TestRun.objects.filter(name=run, deleted_at__isnull=True).first()
        if found is None:
            raise NotFound(f"No run is named {run!r}.", code="no_such_run")
        todo = todo.filter(run=found)
    total = todo.count()
    summary = RefreshSummary()
    last_id = 0
    if progress:
        progress(0, total, "results")
    while True:
        rows = list(
            todo.filter(Q(id__gt=last_id))
            .order_by("id")
            .values_list("id", "status", "message", "log")[:chunk]
        )
        if not rows:
            return summary
        last_id = rows[-1][0]
        updates = []
        cache: dict[str, str] = {}
        for pk, status, message, log in rows:
            summary.examined += 1
            message = failure_message(status, message, log)
            if not message:
                summary.without_log += 1
                continue
            signature = cache.get(message)
            if signature is None:
                signature = cache[message] = fingerprint(message)
            updates.append(TestResult(id=pk, message=message, fingerprint=signature))
        with transaction.atomic():
            TestResult.objects.bulk_update(updates, ["message", "fingerprint"], batch_size=500)
        summary.filled += len(updates)
        if progress:
            progress(summary.examined, total, "results")
