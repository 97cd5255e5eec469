"""django-q entry points of core, and core's schedule: thin, they load by id and call the runner.

Every app's tasks.py registers its jobs and schedules with core.registry; core.apps imports
them all at start (the admin's autodiscover pattern)."""

import logging
import multiprocessing
import sys
import threading
import time

from core import jobs, registry
from core.db import busy_retried

log = logging.getLogger(__name__)

REAPER_SCHEDULE_NAME = "assay.reap_jobs"

# Lost deliveries and dead workers are found within a minute on any cluster sharing the database.
registry.register_schedule(REAPER_SCHEDULE_NAME, "core.tasks.reap_jobs", every_minutes=1)


def run_job(label: str, pk: int) -> str:
    outcome = jobs.run_job(label, pk)
    # Between jobs, the worker does the reaper's round when one is due (a quarter lease).
    jobs.reap_if_due()
    return outcome


def on_worker_spawn(sender, **kwargs) -> None:
    """django-q started a worker process (a cluster's start, or a worker replacing one that
    died): what dead workers of this host held comes back now, not after its lease, and the
    process reaps from a thread from now on (core.jobs.start_reaper_thread)."""
    if multiprocessing.parent_process() is None:
        return  # django-q's sync mode runs a "worker" inline, in this very process
    jobs.start_reaper_thread()
    _watch_cluster_stop()
    try:
        released = jobs.release_dead_workers()
    except Exception:  # a database not answering yet: the reaper thread will do it
        log.warning("could not release the jobs of dead workers", exc_info=True)
        return
    if released:
        log.info("released %d job(s) held by dead workers", released)


def _watch_cluster_stop() -> None:
    """Ask the running job to hand itself back (core.jobs.request_stop) once the cluster stops.

    On SIGTERM, django-q's cluster sets its sentinel's stop event, then waits for each worker
    to finish its task, with no timeout: a querygen run held a stop for minutes. django-q
    offers no hook for the stop; but a worker process is forked by the sentinel and shares
    that event, found on this process's stack (the sentinel's frames that forked it). A thread
    polls it: wait() would count this process among the event's sleepers, and the cluster's
    set() waits for each sleeper to wake, so a worker killed while waiting would hang it."""
    from django_q.cluster import Sentinel

    frame = sys._getframe()
    while frame is not None and not isinstance(frame.f_locals.get("self"), Sentinel):
        frame = frame.f_back
    if frame is None:
        log.warning("no django-q sentinel above this worker: a stop will wait for its job")
        return
    stop_event = frame.f_locals["self"].stop_event

    def watch() -> None:
        while not stop_event.is_set():
            time.sleep(0.2)
        jobs.request_stop()

    threading.Thread(target=watch, name="assay-stop-watch", daemon=True).start()


@busy_retried  # a busy database delays the tick, never loses it
def reap_jobs() -> int:
    return jobs.reap_jobs()
