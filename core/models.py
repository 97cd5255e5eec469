"""What every app shares. JobBase is the job pattern of DESIGN.md: a job is a row first."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class JobBase(models.Model):
    """A unit of background work whose truth is this row, not the task queue.

    django-q carries only the row's id (core.jobs.enqueue). A worker claims the row with a
    lease (core.jobs.claim); a worker that dies leaves an expired lease, and the reaper
    (core.jobs.reap_jobs) puts the row back in the queue. Subclasses implement execute(),
    which must be idempotent: a second delivery finds the work done or redoes it exactly.
    """

    state = models.CharField(
        max_length=16, choices=JobState.choices, default=JobState.QUEUED, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(null=True, blank=True)
    progress_message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def execute(self) -> None:
        """Do the work. Call self.report_progress() as it goes; raise to fail the attempt."""
        raise NotImplementedError(f"{type(self).__name__} is a JobBase without execute()")

    @property
    def is_finished(self) -> bool:
        return self.state in (JobState.SUCCEEDED, JobState.FAILED)

    @property
    def log_dir(self) -> Path:
        return Path(settings.MEDIA_ROOT) / "logs" / self._meta.app_label / str(self.pk)

    @property
    def log_url(self) -> str:
        return f"{settings.MEDIA_URL}logs/{self._meta.app_label}/{self.pk}/job.log"

    def log(self, message: str) -> None:
        from django.utils import timezone

        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / "job.log", "a", encoding="utf-8") as fh:
            fh.write(f"{timezone.now().isoformat(timespec='seconds')} {message}\n")

    def report_progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Record progress on the row and extend the lease: progress is the heartbeat."""
        from core.jobs import heartbeat

        heartbeat(self, done, total, message)
