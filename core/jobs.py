"""The job runner: claim with a lease, run, finish; a reaper for lost deliveries.

django-q's ORM broker delivers at least once and its Redis broker at most once, so nothing
here trusts the queue: the row says what is done, the lease says who may work on it.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Now
from django_q.brokers import get_broker
from django_q.tasks import async_task

from core import registry
from core.models import JobBase, JobState

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _lease() -> timedelta:
    return timedelta(seconds=settings.ASSAY_JOB_LEASE_SECONDS)


def enqueue(job: JobBase) -> None:
    """Queue the task once the row is committed, so a worker never sees a missing row."""
    label, pk = job._meta.label, job.pk
    type(job).objects.filter(pk=pk).update(enqueued_at=Now())
    transaction.on_commit(
        lambda: async_task("core.tasks.run_job", label, pk, task_name=f"{label}:{pk}", group=label)
    )


def enqueue_many(model: type[JobBase], pks: list[int]) -> None:
    """enqueue() for many rows of one model: one UPDATE, then one task per row after commit."""
    label = model._meta.label
    for start in range(0, len(pks), 500):  # under SQLite's bound-parameter limit
        model.objects.filter(pk__in=pks[start : start + 500]).update(enqueued_at=Now())

    def send() -> None:
        for pk in pks:
            async_task("core.tasks.run_job", label, pk, task_name=f"{label}:{pk}", group=label)

    transaction.on_commit(send)


def submit(job: JobBase) -> JobBase:
    """Save a new job row and queue it, in one transaction with whatever the caller wrote."""
    with transaction.atomic():
        job.state = JobState.QUEUED
        job.save()
        enqueue(job)
    return job


def claim(model: type[JobBase], pk: int, worker: str) -> JobBase | None:
    """Take the row if it is queued or its lease expired; None if someone else has it or it
    is finished (a duplicate delivery)."""
    # The database's clock, not this machine's: workers on several machines share the rows.
    claimed = (
        model.objects.filter(pk=pk)
        .filter(
            Q(state=JobState.QUEUED) | Q(state=JobState.RUNNING, lease_expires_at__lt=Now()),
            attempts__lt=F("max_attempts"),
        )
        .update(
            state=JobState.RUNNING,
            attempts=F("attempts") + 1,
            lease_expires_at=Now() + _lease(),
            worker=worker,
            started_at=Coalesce(F("started_at"), Now()),
        )
    )
    if not claimed:
        return None
    return model.objects.get(pk=pk)


class LeaseLost(Exception):
    """This worker's lease expired and the job was handed to another: stop working on it."""


class JobFailed(Exception):
    """Raised by a job to fail for good at once: the failure is deterministic (a file one
    engine cannot read, a spec that cannot be built) and another attempt would only repeat it.
    The message is the row's error."""


def heartbeat(
    job: JobBase, done: int, total: int | None, message: str, extra: dict | None = None
) -> None:
    """Extend the lease and record progress, fenced by worker; ``extra`` fields (a job's own
    checkpoint) are written in the same UPDATE."""
    fields = {
        **(extra or {}),
        "progress_done": done,
        "progress_message": message[:500],
        "lease_expires_at": Now() + _lease(),
    }
    if total is not None:
        fields["progress_total"] = total
    kept = (
        type(job)
        .objects.filter(pk=job.pk, worker=job.worker, state=JobState.RUNNING)
        .update(**fields)
    )
    if not kept:
        raise LeaseLost(f"{job._meta.label} {job.pk}: lease lost by {job.worker}")
    job.progress_done, job.progress_message = done, message[:500]
    if total is not None:
        job.progress_total = total


def _finish(job: JobBase, state: str, error: str = "", fields: dict | None = None) -> bool:
    # Fenced by worker: if our lease expired and another worker took the row, our result
    # is not the one that counts. `fields` (what execute() returned) land in the same UPDATE
    # as the state, so a row is never finished without its results or the other way round.
    return bool(
        type(job)
        .objects.filter(pk=job.pk, worker=job.worker, state=JobState.RUNNING)
        .update(
            state=state, finished_at=Now(), error=error, lease_expires_at=None, **(fields or {})
        )
    )


def run_job(label: str, pk: int) -> str:
    """django-q entry point (via core.tasks.run_job): run one job row by id, with the
    handlers its app registered (core.registry)."""
    job_type = registry.job_type(label)
    job = claim(job_type.model, pk, worker_id())
    if job is None:
        return "skipped"
    if job.log_every_attempt:
        job.log(f"attempt {job.attempts} started on {job.worker}")
    try:
        fields = job_type.execute(job)
    except LeaseLost:
        job.log(f"attempt {job.attempts} stopped: the lease went to another worker")
        return "lost"
    except JobFailed as exc:
        job.log(f"attempt {job.attempts} on {job.worker} failed for good: {exc}")
        if _finish(job, JobState.FAILED, str(exc)) and job_type.after_finish:
            job_type.after_finish(job, JobState.FAILED)
        return "failed"
    except Exception as exc:
        job.log(f"attempt {job.attempts} on {job.worker} failed:\n" + traceback.format_exc())
        detail = f"{type(exc).__name__}: {exc}"
        if job.attempts < job.max_attempts:
            requeued = (
                type(job)
                .objects.filter(pk=job.pk, worker=job.worker, state=JobState.RUNNING)
                .update(state=JobState.QUEUED, error=detail, lease_expires_at=None)
            )
            if requeued:
                enqueue(job)
            return "retry"
        if _finish(job, JobState.FAILED, detail) and job_type.after_finish:
            job_type.after_finish(job, JobState.FAILED)
        return "failed"
    if not _finish(job, JobState.SUCCEEDED, fields=fields if isinstance(fields, dict) else None):
        job.log(f"attempt {job.attempts} finished after its lease went to another worker")
        return "lost"
    if job.log_every_attempt:
        job.log("succeeded")
    if job_type.after_finish:
        job_type.after_finish(job, JobState.SUCCEEDED)
    return "succeeded"


def job_models() -> list[type[JobBase]]:
    return [t.model for t in registry.job_types()]


def _broker_idle() -> bool:
    """True when the broker holds no task waiting for a worker. A row queued for long while
    tasks still wait is only behind in the queue (a run of thousands of chunks); once the
    queue is empty, a row still queued lost its delivery."""
    try:
        return get_broker().queue_size() == 0
    except Exception:  # a broker we cannot ask: assume the worst, a duplicate is harmless
        log.warning("could not read the broker's queue size", exc_info=True)
        return True


def reap_jobs() -> int:
    """Requeue rows whose worker died (lease expired) or whose delivery was lost (queued for
    longer than a lease without a claim, with nothing left in the broker's queue). Rows out
    of attempts fail with the reason."""
    requeued = 0
    idle = _broker_idle()
    for model in job_models():
        expired = model.objects.filter(state=JobState.RUNNING, lease_expires_at__lt=Now())
        model.objects.filter(pk__in=expired.filter(attempts__gte=F("max_attempts"))).update(
            state=JobState.FAILED,
            finished_at=Now(),
            lease_expires_at=None,
            error="the worker stopped answering (lease expired) and no attempts are left",
        )
        lost = Q(state=JobState.RUNNING, lease_expires_at__lt=Now())
        if idle:
            lost |= Q(state=JobState.QUEUED, enqueued_at__lt=Now() - _lease()) | Q(
                state=JobState.QUEUED, enqueued_at__isnull=True
            )
        stale = model.objects.filter(lost)
        for job in stale:
            with transaction.atomic():
                changed = (
                    model.objects.filter(pk=job.pk, state=job.state, worker=job.worker)
                    .filter(Q(lease_expires_at__lt=Now()) | Q(state=JobState.QUEUED))
                    .update(state=JobState.QUEUED, lease_expires_at=None)
                )
                if changed:
                    enqueue(job)
                    requeued += 1
    if requeued:
        log.info("reaper requeued %d job(s)", requeued)
    return requeued
