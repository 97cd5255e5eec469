"""The job runner: claim with a lease, run, finish; a reaper for lost deliveries.

django-q's ORM broker delivers at least once and its Redis broker at most once, so nothing
here trusts the queue: the row says what is done, the lease says who may work on it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import multiprocessing
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce, Now
from django_q.brokers import get_broker
from django_q.tasks import async_task

from core import registry, secrets
from core.db import retry_on_busy
from core.exceptions import is_busy
from core.models import JobBase, JobState

log = logging.getLogger(__name__)


@functools.cache
def this_host() -> str:
    """This machine as workers name it: its hostname, and a tag of its boot and PID namespace,
    so that containers sharing a hostname (host networking) or machines cloned with one never
    take each other's workers for their own (nor for dead ones)."""
    seen = []
    with contextlib.suppress(OSError):
        seen.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    with contextlib.suppress(OSError):
        seen.append(str(os.stat("/proc/self/ns/pid").st_ino))
    tag = hashlib.sha1("/".join(seen).encode(), usedforsecurity=False).hexdigest()[:6]
    return f"{socket.gethostname()}~{tag}"


def worker_id() -> str:
    return f"{this_host()}:{os.getpid()}"


def _process_state(pid: int) -> str:
    """The state letter of a process of this host ("R", "S", "T" stopped, "Z" zombie...),
    "" when there is no such process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return ""
    except PermissionError:  # someone else's process: it exists
        pass
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"  # exists, state unknown


def _on_this_host(worker: str) -> int | None:
    """The pid of `worker` ("host:pid") if it ran on this host (not this process), else None."""
    host, _, pid = worker.rpartition(":")
    if host != this_host() or not pid.isdigit() or int(pid) == os.getpid():
        return None
    return int(pid)


def worker_is_dead(worker: str) -> bool:
    """True when `worker` ran on this host and its process is gone (or a zombie, killed and not
    yet waited for). A worker on another host is not known to be dead: its lease decides."""
    pid = _on_this_host(worker)
    return pid is not None and _process_state(pid) in ("", "Z", "X")


def worker_is_answering(worker: str) -> bool:
    """True when `worker` runs on this host, neither dead nor stopped (SIGSTOP): its lease may
    have run out (a database too busy for its keep-alive), but it is still at work."""
    pid = _on_this_host(worker)
    return pid is not None and _process_state(pid) not in ("", "Z", "X", "T", "t")


def _lease() -> timedelta:
    return timedelta(seconds=settings.ASSAY_JOB_LEASE_SECONDS)


def _retried(fn):
    """The runner's own writes wait out a busy database (core.db.retry_on_busy) for up to a
    lease: a claim or a finish that failed on "database is locked" would otherwise fail the
    job, or leave it running until its lease ran out. Each is one fenced statement (or one
    transaction), so running it again is safe."""
    return retry_on_busy(fn, seconds=settings.ASSAY_JOB_LEASE_SECONDS)


_stopping = threading.Event()


def request_stop() -> None:
    """This worker process is stopping (its cluster got SIGTERM): the running job's next
    heartbeat checkpoints it and hands it back (Stopping), and no new job is claimed."""
    _stopping.set()


def stop_requested() -> bool:
    return _stopping.is_set()


def enqueue(job: JobBase) -> None:
    """Queue the task once the row is committed, so a worker never sees a missing row."""
    type(job).objects.filter(pk=job.pk).update(enqueued_at=Now())
    _send(job)


def _send(job: JobBase) -> None:
    label, pk = job._meta.label, job.pk
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
    claimable = model.objects.filter(pk=pk).filter(
        Q(state=JobState.QUEUED) | Q(state=JobState.RUNNING, lease_expires_at__lt=Now()),
        attempts__lt=F("max_attempts"),
    )
    claimed = _retried(
        lambda: claimable.update(
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


class Stopping(Exception):
    """This worker process is stopping (request_stop): the job was checkpointed by the
    heartbeat that raised this, and the runner hands it back to the queue."""


class JobFailed(Exception):
    """Raised by a job to fail for good at once: the failure is deterministic (a file one
    engine cannot read, a spec that cannot be built) and another attempt would only repeat it.
    The message is the row's error."""


def heartbeat(
    job: JobBase, done: int, total: int | None, message: str, extra: dict | None = None
) -> None:
    """Extend the lease and record progress, fenced by worker; ``extra`` fields (a job's own
    checkpoint) are written in the same UPDATE. Raises LeaseLost when the row went to another
    worker, and Stopping (after writing the checkpoint) when this worker process stops."""
    fields = {
        **(extra or {}),
        "progress_done": done,
        "progress_message": message[:500],
        "lease_expires_at": Now() + _lease(),
    }
    if total is not None:
        fields["progress_total"] = total
    mine = type(job).objects.filter(pk=job.pk, worker=job.worker, state=JobState.RUNNING)
    if not _retried(lambda: mine.update(**fields)):
        raise LeaseLost(f"{job._meta.label} {job.pk}: lease lost by {job.worker}")
    job.progress_done, job.progress_message = done, message[:500]
    if total is not None:
        job.progress_total = total
    if stop_requested():
        raise Stopping(f"{job._meta.label} {job.pk}: the worker {job.worker} is stopping")


@contextlib.contextmanager
def keep_alive(job: JobBase) -> Iterator[None]:
    """Extend the job's lease from a thread while the block runs: a lease can be short (a dead
    or frozen worker's job comes back soon) and a long step (a chunk's generation, a query)
    still never loses it. The thread writes only the lease, fenced by worker like heartbeat();
    it stops quietly when the row went to another worker, and a frozen process (SIGSTOP)
    freezes it too, so the lease of a frozen worker does expire."""
    if connection.in_atomic_block:
        # The caller's transaction may hold the row's lock: the thread would wait for it, and
        # the join below for the thread. Inside a transaction, the job extends nothing.
        yield
        return
    stop = threading.Event()
    every = max(1.0, settings.ASSAY_JOB_LEASE_SECONDS / 3)
    model, pk, worker = type(job), job.pk, job.worker

    def extend() -> None:
        try:
            while not stop.wait(every):
                try:
                    kept = model.objects.filter(
                        pk=pk, worker=worker, state=JobState.RUNNING
                    ).update(lease_expires_at=Now() + _lease())
                except Exception:  # a busy or restarting database: try again next time
                    log.warning("could not extend the lease of %s %s", model, pk, exc_info=True)
                    connection.close()
                    continue
                if not kept:
                    return
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=extend, name=f"lease:{job._meta.label}:{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _finish(job: JobBase, state: str, error: str = "", fields: dict | None = None) -> bool:
    # Fenced by worker: if our lease expired and another worker took the row, our result
    # is not the one that counts. `fields` (what execute() returned) land in the same UPDATE
    # as the state, so a row is never finished without its results or the other way round.
    mine = type(job).objects.filter(pk=job.pk, worker=job.worker, state=JobState.RUNNING)
    return bool(
        _retried(
            lambda: mine.update(
                state=state, finished_at=Now(), error=error, lease_expires_at=None, **(fields or {})
            )
        )
    )


def _hand_back(job: JobBase, why: str) -> bool:
    """Put a running job back in the queue without counting the attempt (the job did not fail:
    its worker stops, or the database was too busy); fenced by worker."""
    mine = type(job).objects.filter(pk=job.pk, worker=job.worker, state=JobState.RUNNING)

    def put_back() -> bool:
        with transaction.atomic():
            if not mine.update(
                state=JobState.QUEUED, lease_expires_at=None, attempts=F("attempts") - 1
            ):
                return False
            enqueue(job)  # sent once the transaction commits
            return True

    handed = _retried(put_back)
    job.log(f"attempt {job.attempts} on {job.worker} handed back: {why}")
    return handed


def run_in_foreground(
    label: str,
    pk: int,
    *,
    on_retry: Callable[[Any], None] = lambda job: None,
    poll_seconds: float = 1.0,
) -> Any:
    """Work one job in this process until it has finished (a command's foreground run), and
    return its row. An attempt that failed with attempts left is run again (``on_retry`` is
    told first); a job handed back (a busy database) is taken again after a pause; a job
    another worker holds is waited for, and taken over if it is queued again (its worker died
    or handed it back)."""
    model = registry.job_type(label).model
    outcome = run_job(label, pk)
    job = model.objects.get(pk=pk)
    while not job.is_finished and outcome not in ("succeeded", "failed"):
        if outcome == "retry":
            on_retry(job)
        else:  # handed back, or held by another worker: ask again shortly
            time.sleep(poll_seconds)
        outcome = run_job(label, pk)
        job = model.objects.get(pk=pk)
    return job


def run_job(label: str, pk: int) -> str:
    """django-q entry point (via core.tasks.run_job): run one job row by id, with the
    handlers its app registered (core.registry)."""
    job_type = registry.job_type(label)
    if stop_requested():
        # Tasks fetched before the cluster stopped: sent again for a cluster that goes on.
        async_task("core.tasks.run_job", label, pk, task_name=f"{label}:{pk}", group=label)
        return "handed back"
    job = claim(job_type.model, pk, worker_id())
    if job is None:
        return "skipped"
    if job.log_every_attempt:
        job.log(f"attempt {job.attempts} started on {job.worker}")
    try:
        with keep_alive(job):
            fields = job_type.execute(job)
    except LeaseLost:
        job.log(f"attempt {job.attempts} stopped: the lease went to another worker")
        return "lost"
    except Stopping:
        _hand_back(job, "the worker is stopping (SIGTERM); the job goes on from its checkpoint")
        return "handed back"
    except JobFailed as exc:
        job.log(f"attempt {job.attempts} on {job.worker} failed for good: {exc}")
        if _finish(job, JobState.FAILED, secrets.scrub(str(exc))) and job_type.after_finish:
            job_type.after_finish(job, JobState.FAILED)
        return "failed"
    except Exception as exc:
        if is_busy(exc):  # the database, not the job: another attempt, not counted
            _hand_back(job, f"the database stayed busy ({exc})")
            return "handed back"
        job.log(f"attempt {job.attempts} on {job.worker} failed:\n" + traceback.format_exc())
        # The error is shown to anyone (pages, API): an engine's conninfo must not be in it.
        detail = secrets.scrub(f"{type(exc).__name__}: {exc}")
        if job.attempts < job.max_attempts:
            mine = type(job).objects.filter(pk=job.pk, worker=job.worker, state=JobState.RUNNING)
            requeued = _retried(
                lambda: mine.update(state=JobState.QUEUED, error=detail, lease_expires_at=None)
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


def release_stale(rows: QuerySet) -> list[int]:
    """Put back in the queue the running rows of `rows` that nobody works any more: their
    worker's process is gone (on this host: at once), or their lease expired (a worker that
    died elsewhere, or froze), unless their worker is a process of this host still at work.
    Fenced by worker, so a row a live worker just took stays with it; rows out of attempts
    fail with the reason (and their app hears it: after_finish). Returns the ids queued again."""
    model = rows.model
    running = rows.filter(state=JobState.RUNNING)
    holders = list(running.values_list("worker", flat=True).distinct())
    dead = [w for w in holders if worker_is_dead(w)]
    answering = [w for w in holders if worker_is_answering(w)]
    stale = running.filter(Q(lease_expires_at__lt=Now()) | Q(worker__in=dead)).exclude(
        worker__in=answering
    )
    requeued = []
    for job in stale.only("pk", "worker", "attempts", "max_attempts"):
        fenced = model.objects.filter(pk=job.pk, state=JobState.RUNNING, worker=job.worker)
        if job.attempts >= job.max_attempts:
            reason = "died" if job.worker in dead else "stopped answering (lease expired)"
            failed = _retried(
                lambda fenced=fenced, reason=reason: fenced.update(
                    state=JobState.FAILED,
                    finished_at=Now(),
                    lease_expires_at=None,
                    error=f"the worker {reason} and no attempts are left",
                )
            )
            after_finish = registry.job_type(model._meta.label).after_finish
            if failed and after_finish:
                after_finish(model.objects.get(pk=job.pk), JobState.FAILED)
            continue

        def put_back(fenced=fenced, job=job) -> bool:
            with transaction.atomic():
                if not fenced.update(state=JobState.QUEUED, lease_expires_at=None):
                    return False
                enqueue(job)
                return True

        if _retried(put_back):
            requeued.append(job.pk)
    return requeued


def release_dead_workers() -> int:
    """release_stale() over every job type: called when a worker process starts (a
    restarted cluster, or django-q replacing a worker that died), so what the dead one held
    comes back at once instead of after its lease."""
    return sum(len(release_stale(model.objects.all())) for model in job_models())


def reap_jobs() -> int:
    """Requeue rows whose worker died or whose lease expired (release_stale), and rows
    whose delivery was lost (queued for longer than a lease without a claim, with nothing
    left in the broker's queue); rows out of attempts fail with the reason. Then each job
    type's sweep (registry.register_job)."""
    requeued = 0
    idle = _broker_idle()
    for model in job_models():
        requeued += len(release_stale(model.objects.all()))
        if not idle:
            continue
        lost = model.objects.filter(
            Q(state=JobState.QUEUED, enqueued_at__lt=Now() - _lease())
            | Q(state=JobState.QUEUED, enqueued_at__isnull=True)
        )
        for job in lost.only("pk", "enqueued_at"):
            # Fenced on the enqueue time: reapers of several processes send it once (the first
            # moves enqueued_at on). Not an equality: SQLite's Now() keeps milliseconds, a
            # Python datetime microseconds, and the two never compare equal as text.
            same = (
                Q(enqueued_at__isnull=True)
                if job.enqueued_at is None
                else Q(enqueued_at__lte=job.enqueued_at)
            )
            won = model.objects.filter(same, pk=job.pk, state=JobState.QUEUED).update(
                enqueued_at=Now()
            )
            if won:
                _send(job)
                requeued += 1
    for job_type in registry.job_types():
        if job_type.sweep is not None:
            job_type.sweep()
    if requeued:
        log.info("reaper requeued %d job(s)", requeued)
    return requeued


_last_reap = 0.0
_reaper_thread: threading.Thread | None = None


def reap_if_due() -> int:
    """reap_jobs() at most every quarter lease per process: each worker, between jobs, does
    the reaper's round when it is due, so a dead worker's job comes back within a fraction of
    a lease on a busy cluster, not at the next minute of the schedule."""
    global _last_reap
    now = time.monotonic()
    if now - _last_reap < settings.ASSAY_JOB_LEASE_SECONDS / 4:
        return 0
    _last_reap = now
    try:
        return reap_jobs()
    except Exception:  # the job itself is done; the schedule reaps if this one could not
        log.warning("reaper round failed", exc_info=True)
        return 0


def start_reaper_thread() -> None:
    """In a worker process: do the reaper's round every quarter lease from a thread, busy or
    idle. A cluster that died took the tasks it had fetched with it; an idle cluster, which
    runs no job and so never reaps between jobs, would otherwise wait for the minute schedule
    to see them lost. Once per process."""
    global _reaper_thread
    if _reaper_thread is not None or multiprocessing.parent_process() is None:
        return  # started already, or not a worker process (django-q's sync mode runs tasks inline)

    def loop() -> None:
        while True:
            time.sleep(max(1.0, settings.ASSAY_JOB_LEASE_SECONDS / 4))
            connection.close_if_unusable_or_obsolete()
            reap_if_due()

    _reaper_thread = threading.Thread(target=loop, name="assay-reaper", daemon=True)
    _reaper_thread.start()
