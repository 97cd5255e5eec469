"""The job pattern: row first, task on commit, lease, fenced finish, reaper."""

import dataclasses
import multiprocessing
import os
import signal
import socket
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError, transaction
from django.utils import timezone
from django_q.models import OrmQ

from core import jobs, registry
from core.models import JobState
from core.tasks import REAPER_SCHEDULE_NAME
from results.models import CleanJob

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


@pytest.fixture
def handle_clean_job(monkeypatch):
    """Replace CleanJob's registered handlers for one test."""

    def replace(**handlers):
        changed = dataclasses.replace(registry.job_type(CleanJob), **handlers)
        monkeypatch.setitem(registry._job_types, CleanJob._meta.label, changed)

    return replace


def queued_tasks() -> list[tuple]:
    return [(t.task["func"], t.task["args"]) for t in OrmQ.objects.all()]


def test_submit_queues_the_task_only_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = jobs.submit(CleanJob())
        assert not OrmQ.objects.exists()  # nothing queued before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert queued_tasks() == [("core.tasks.run_job", ("results.CleanJob", job.pk))]
    job.refresh_from_db()
    assert job.state == JobState.QUEUED and job.enqueued_at is not None


def test_run_job_succeeds_once_and_a_second_delivery_is_skipped():
    job = CleanJob.objects.create()
    assert jobs.run_job("results.CleanJob", job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.attempts == 1 and job.finished_at
    assert jobs.run_job("results.CleanJob", job.pk) == "skipped"
    job.refresh_from_db()
    assert job.attempts == 1
    assert "succeeded" in (job.log_dir / "job.log").read_text()


def test_a_running_job_with_a_live_lease_is_not_taken_twice():
    job = CleanJob.objects.create()
    first = jobs.claim(CleanJob, job.pk, "worker-a")
    assert first is not None
    assert jobs.claim(CleanJob, job.pk, "worker-b") is None


def test_a_failed_attempt_is_retried_then_fails_with_its_error(
    handle_clean_job, django_capture_on_commit_callbacks
):
    def boom(job):
        raise RuntimeError("disk full")

    handle_clean_job(execute=boom)
    job = CleanJob.objects.create(max_attempts=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.run_job("results.CleanJob", job.pk) == "retry"
    job.refresh_from_db()
    assert job.state == JobState.QUEUED and "disk full" in job.error
    assert queued_tasks() == [("core.tasks.run_job", ("results.CleanJob", job.pk))]
    assert jobs.run_job("results.CleanJob", job.pk) == "failed"
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.attempts == 2
    assert job.error == "RuntimeError: disk full"


def test_reaper_requeues_a_job_whose_worker_died(django_capture_on_commit_callbacks):
    job = CleanJob.objects.create()
    claimed = jobs.claim(CleanJob, job.pk, "dead-worker")
    assert claimed is not None
    CleanJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.reap_jobs() == 1
    job.refresh_from_db()
    assert job.state == JobState.QUEUED
    assert queued_tasks() == [("core.tasks.run_job", ("results.CleanJob", job.pk))]
    # the dead worker's late finish is fenced off: the row is no longer its own
    assert not jobs._finish(claimed, JobState.SUCCEEDED)
    assert jobs.run_job("results.CleanJob", job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.attempts == 2


def test_reaper_fails_a_job_out_of_attempts():
    job = CleanJob.objects.create(max_attempts=1)
    jobs.claim(CleanJob, job.pk, "dead-worker")
    CleanJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    jobs.reap_jobs()
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "lease expired" in job.error


def test_reaper_requeues_a_lost_delivery(django_capture_on_commit_callbacks):
    job = CleanJob.objects.create(enqueued_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.reap_jobs() == 1
    assert queued_tasks() == [("core.tasks.run_job", ("results.CleanJob", job.pk))]
    fresh = CleanJob.objects.create(enqueued_at=timezone.now())
    assert jobs.reap_jobs() == 0
    assert fresh.pk


def test_progress_extends_the_lease(settings):
    settings.ASSAY_JOB_LEASE_SECONDS = 300
    job = CleanJob.objects.create()
    claimed = jobs.claim(CleanJob, job.pk, "w")
    CleanJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now())
    jobs.heartbeat(claimed, 5, 10, "half")
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total, job.progress_message) == (5, 10, "half")
    assert job.lease_expires_at > timezone.now() + timedelta(seconds=60)


def test_the_reaper_is_scheduled_after_migrate():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name=REAPER_SCHEDULE_NAME)
    assert schedule.func == "core.tasks.reap_jobs"
    assert schedule.schedule_type == Schedule.MINUTES


def test_a_worker_that_lost_its_lease_stops_and_does_not_report_success(
    monkeypatch, handle_clean_job
):
    """Worker A stalls past its lease; the reaper hands the job to B, which finishes it.
    A's next heartbeat stops it, and its own finish would not count."""
    outcomes = []

    def execute(job):
        if job.worker == "worker-a":
            CleanJob.objects.filter(pk=job.pk).update(
                lease_expires_at=timezone.now() - timedelta(seconds=1)
            )
            jobs.reap_jobs()
            outcomes.append(("inner", jobs.run_job("results.CleanJob", job.pk)))
            jobs.heartbeat(job, 1, 2, "still going")  # raises LeaseLost
        outcomes.append(("executed", job.worker))

    handle_clean_job(execute=execute)
    monkeypatch.setattr(jobs, "worker_id", iter(["worker-a", "worker-b"]).__next__)
    job = CleanJob.objects.create()
    assert jobs.run_job("results.CleanJob", job.pk) == "lost"
    assert outcomes == [("executed", "worker-b"), ("inner", "succeeded")]
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.worker == "worker-b"
    log = (job.log_dir / "job.log").read_text()
    assert log.count("succeeded") == 1 and "lease went to another worker" in log


def test_reaper_leaves_rows_waiting_behind_a_busy_queue(django_capture_on_commit_callbacks):
    # Thousands of chunks wait in the broker longer than a lease: they are late, not lost.
    waiting = CleanJob.objects.create(enqueued_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue(CleanJob.objects.create())  # something still in the queue
    assert jobs.reap_jobs() == 0
    OrmQ.objects.all().delete()  # the queue drained and the row is still queued: lost
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.reap_jobs() == 1  # the other row was queued just now: not lost yet
    assert [args[1] for _, args in queued_tasks()] == [waiting.pk]


def test_enqueue_many_queues_every_row_after_commit(django_capture_on_commit_callbacks):
    rows = [CleanJob.objects.create() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        jobs.enqueue_many(CleanJob, [r.pk for r in rows])
    assert not OrmQ.objects.exists() and len(callbacks) == 1
    callbacks[0]()
    assert sorted(args[1] for _, args in queued_tasks()) == sorted(r.pk for r in rows)
    assert all(r.enqueued_at for r in CleanJob.objects.all())


def test_what_execute_returns_lands_with_the_success(handle_clean_job):
    job = CleanJob.objects.create()
    finished = []
    handle_clean_job(
        execute=lambda job: {"rows_deleted": 42},
        after_finish=lambda job, state: finished.append(state),
    )
    assert jobs.run_job("results.CleanJob", job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.rows_deleted == 42
    assert finished == [JobState.SUCCEEDED]


def test_a_job_that_fails_for_good_is_not_tried_again(
    handle_clean_job, django_capture_on_commit_callbacks
):
    finished = []

    def deterministic(job):
        raise jobs.JobFailed("the file is not a database")

    handle_clean_job(execute=deterministic, after_finish=lambda job, state: finished.append(state))
    job = CleanJob.objects.create(max_attempts=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.run_job("results.CleanJob", job.pk) == "failed"
    job.refresh_from_db()
    assert (job.state, job.attempts, job.error) == (
        JobState.FAILED,
        1,
        "the file is not a database",
    )
    assert not OrmQ.objects.exists()  # nothing queued again
    assert finished == [JobState.FAILED]
    assert "failed for good: the file is not a database" in (job.log_dir / "job.log").read_text()


def test_a_stopping_worker_checkpoints_and_hands_its_job_back(
    handle_clean_job, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(jobs, "_stopping", threading.Event())
    beats = []

    def long_job(job):
        jobs.heartbeat(job, 1, 10, "one of ten")
        beats.append(1)
        jobs.request_stop()  # as the cluster's SIGTERM does, from the stop watcher's thread
        jobs.heartbeat(job, 2, 10, "two of ten", extra={"rows_deleted": 2})
        beats.append(2)  # never reached: the heartbeat raised

    handle_clean_job(execute=long_job)
    job = CleanJob.objects.create(max_attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.run_job("results.CleanJob", job.pk) == "handed back"
    job.refresh_from_db()
    # The checkpoint is written, the row queued again, its only attempt not used up.
    assert (job.state, job.attempts, job.lease_expires_at) == (JobState.QUEUED, 0, None)
    assert (job.progress_done, job.rows_deleted, beats) == (2, 2, [1])
    assert queued_tasks() == [("core.tasks.run_job", ("results.CleanJob", job.pk))]
    assert "handed back: the worker is stopping" in (job.log_dir / "job.log").read_text()
    # A stopping worker claims nothing more: the delivery goes back to the broker.
    OrmQ.objects.all().delete()
    assert jobs.run_job("results.CleanJob", job.pk) == "handed back"
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.QUEUED, 0)
    assert queued_tasks() == [("core.tasks.run_job", ("results.CleanJob", job.pk))]


def test_a_job_that_meets_a_busy_database_is_handed_back_not_failed(
    handle_clean_job, django_capture_on_commit_callbacks
):
    def busy(job):
        # What SQLite raises once another writer held the lock past the busy timeout.
        raise OperationalError("database is locked")

    handle_clean_job(execute=busy)
    job = CleanJob.objects.create(max_attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.run_job("results.CleanJob", job.pk) == "handed back"
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.QUEUED, 0)
    assert queued_tasks() == [("core.tasks.run_job", ("results.CleanJob", job.pk))]


def test_a_foreground_command_goes_on_after_a_busy_database_and_a_failed_attempt(
    handle_clean_job,
):
    """`querygen run` and `gate check --wait` work their job here until it has finished: a
    job handed back (the database stayed busy) is taken again, a failed attempt retried (the
    crash test once saw the command return with its run still queued)."""
    seen = []

    def flaky(job):
        seen.append(job.attempts)
        if len(seen) == 1:
            raise OperationalError("database is locked")
        if len(seen) == 2:
            raise RuntimeError("a failed attempt")
        return {}

    handle_clean_job(execute=flaky)
    job = CleanJob.objects.create(max_attempts=3)
    retried = []
    done = jobs.run_in_foreground(
        "results.CleanJob", job.pk, on_retry=retried.append, poll_seconds=0.01
    )
    assert done.state == JobState.SUCCEEDED and len(seen) == 3
    assert seen == [1, 1, 2]  # the busy attempt was not counted
    assert [r.pk for r in retried] == [job.pk]


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process of this host that has ended (and was waited for)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def running_row(worker: str, *, lease_seconds: int = 300, attempts: int = 1) -> CleanJob:
    return CleanJob.objects.create(
        state=JobState.RUNNING,
        worker=worker,
        attempts=attempts,
        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds),
    )


def test_a_job_whose_worker_process_is_gone_comes_back_before_its_lease(
    dead_pid, django_capture_on_commit_callbacks
):
    host = jobs.this_host()
    dead = running_row(f"{host}:{dead_pid}")
    with subprocess.Popen(["sleep", "30"]) as sleeper:
        alive = running_row(f"{host}:{sleeper.pid}")
        elsewhere = running_row(f"another-host:{dead_pid}")
        assert jobs.worker_is_dead(dead.worker)
        assert not jobs.worker_is_dead(alive.worker) and not jobs.worker_is_dead(elsewhere.worker)
        with django_capture_on_commit_callbacks(execute=True):
            assert jobs.release_stale(CleanJob.objects.all()) == [dead.pk]
        sleeper.kill()
    assert queued_tasks() == [("core.tasks.run_job", ("results.CleanJob", dead.pk))]
    states = dict(CleanJob.objects.values_list("pk", "state"))
    assert states == {
        dead.pk: JobState.QUEUED,
        alive.pk: JobState.RUNNING,  # its process lives: it may still be on it
        elsewhere.pk: JobState.RUNNING,  # another host: only its lease can tell
    }


def test_a_zombie_worker_is_dead():
    process = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{process.pid}/stat").read_text().split(") ")[1][0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert jobs.worker_is_dead(f"{jobs.this_host()}:{process.pid}")
    process.wait()


def test_a_dead_workers_job_out_of_attempts_fails_with_the_reason(dead_pid):
    job = running_row(f"{jobs.this_host()}:{dead_pid}", attempts=3)
    assert jobs.release_stale(CleanJob.objects.all()) == []
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == "the worker died and no attempts are left"


def test_workers_release_what_dead_workers_held_when_they_start(
    dead_pid, django_capture_on_commit_callbacks, monkeypatch
):
    from django_q.signals import post_spawn

    threads = []
    monkeypatch.setattr(jobs, "start_reaper_thread", lambda: threads.append(1))
    job = running_row(f"{jobs.this_host()}:{dead_pid}")
    # django-q's sync mode sends the signal in the calling process itself: nothing happens.
    post_spawn.send(sender="django_q", proc_name="MainProcess")
    job.refresh_from_db()
    assert job.state == JobState.RUNNING and threads == []
    # In a worker process (a child of the cluster):
    monkeypatch.setattr(multiprocessing, "parent_process", lambda: object())
    with django_capture_on_commit_callbacks(execute=True):
        post_spawn.send(sender="django_q", proc_name="Process-1:1")
    job.refresh_from_db()
    assert job.state == JobState.QUEUED
    assert threads == [1]  # and it reaps from a thread from now on


def test_a_live_worker_of_this_host_keeps_its_job_past_its_lease_a_frozen_one_does_not(
    django_capture_on_commit_callbacks,
):
    """A lease that ran out while its worker is still at work (a database too busy for the
    keep-alive) is not a reason to take its job; a frozen worker's (SIGSTOP) is."""
    with subprocess.Popen(["sleep", "30"]) as busy, subprocess.Popen(["sleep", "30"]) as frozen:
        os.kill(frozen.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{frozen.pid}/stat").read_text().split(") ")[1][0] != "T":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        at_work = running_row(f"{jobs.this_host()}:{busy.pid}", lease_seconds=-5)
        stopped = running_row(f"{jobs.this_host()}:{frozen.pid}", lease_seconds=-5)
        with django_capture_on_commit_callbacks(execute=True):
            assert jobs.release_stale(CleanJob.objects.all()) == [stopped.pk]
        busy.kill()
        frozen.kill()
    at_work.refresh_from_db()
    assert at_work.state == JobState.RUNNING


def test_a_job_failed_by_the_reaper_is_heard_by_its_app(handle_clean_job, dead_pid):
    heard = []
    handle_clean_job(after_finish=lambda job, state: heard.append((job.pk, state, job.error)))
    job = running_row(f"{jobs.this_host()}:{dead_pid}", attempts=3)
    jobs.release_stale(CleanJob.objects.all())
    assert heard == [(job.pk, JobState.FAILED, "the worker died and no attempts are left")]


def test_a_job_run_inside_a_transaction_extends_no_lease_from_a_thread(handle_clean_job, settings):
    settings.ASSAY_JOB_LEASE_SECONDS = 3
    handle_clean_job(execute=lambda job: time.sleep(1.5))
    job = CleanJob.objects.create()
    with transaction.atomic():
        before = threading.active_count()
        assert jobs.run_job("results.CleanJob", job.pk) == "succeeded"
    assert threading.active_count() == before


def test_worker_ids_name_this_host_with_its_boot_and_pid_namespace():
    host, pid = jobs.worker_id().rsplit(":", 1)
    assert host == jobs.this_host() and pid == str(os.getpid())
    name, tag = host.rsplit("~", 1)
    assert name == socket.gethostname() and len(tag) == 6
    # a process of the same hostname in another container is not this host's
    assert not jobs.worker_is_dead(f"{socket.gethostname()}:999999")


@pytest.mark.django_db(transaction=True)  # the thread's own connection sees committed rows
def test_a_long_job_keeps_its_short_lease_alive(handle_clean_job, settings):
    """The keep-alive thread extends the lease while execute() runs longer than the lease,
    so no reaper takes a job from a live worker."""
    settings.ASSAY_JOB_LEASE_SECONDS = 3
    seen = []

    def slow(job):
        for _ in range(8):
            time.sleep(0.5)
            seen.append(CleanJob.objects.get(pk=job.pk).lease_expires_at)
        assert not jobs.release_stale(CleanJob.objects.filter(pk=job.pk))

    handle_clean_job(execute=slow)
    job = CleanJob.objects.create()
    assert jobs.run_job("results.CleanJob", job.pk) == "succeeded"
    assert len(set(seen)) >= 2  # extended by the thread, not only at the claim


def test_each_reaper_round_runs_the_job_types_sweeps(handle_clean_job):
    swept = []
    handle_clean_job(sweep=lambda: swept.append("clean") or 0)
    jobs.reap_jobs()
    assert swept == ["clean"]


def test_a_lost_delivery_stamped_by_the_database_is_sent_again_once(
    settings, django_capture_on_commit_callbacks
):
    """enqueue() stamps enqueued_at with the database's clock (on SQLite: milliseconds, as
    text): the reaper's fence must still match it, and move it on for the next reaper."""
    settings.ASSAY_JOB_LEASE_SECONDS = 1
    job = CleanJob.objects.create()
    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue(job)
    OrmQ.objects.all().delete()  # the delivery is lost
    time.sleep(1.3)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.reap_jobs() == 1
        assert jobs.reap_jobs() == 0  # sent again just now: not lost yet
    assert queued_tasks() == [("core.tasks.run_job", ("results.CleanJob", job.pk))]
