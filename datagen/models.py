"""Data generation runs and their chunks. A run is a job (its setup); each chunk is a job too,
so the core runner's lease, retries and reaper give every chunk LSST's four states without a
human: target (queued), assigned (running), completed (succeeded), limbo (failed for good)."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models

from core.models import Engine, JobBase, JobState

# LSST dax_data_generator's names for the chunk states, used in the UI, the API and .clg logs.
LSST_STATES = {
    JobState.QUEUED: "target",
    JobState.RUNNING: "assigned",
    JobState.SUCCEEDED: "completed",
    JobState.FAILED: "limbo",
}
STATE_OF_LSST = {v: k for k, v in LSST_STATES.items()}


class OutputFormat(models.TextChoices):
    PARQUET = "parquet", "Parquet"
    CSV = "csv", "CSV"
    NONE = "none", "No files (load only)"


class DatagenRun(JobBase):
    """The job of a run is its setup: create the load target's tables, create the chunk rows,
    queue them. The chunks then go their own way; `completed_at` is set, and the run recorded
    in results, once every chunk is completed or in limbo."""

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    label = models.CharField(max_length=100, blank=True)
    spec_name = models.CharField(max_length=100)
    spec = models.JSONField(help_text="The spec as submitted (parsed again by each worker).")
    seed = models.PositiveBigIntegerField()
    chunks = models.TextField(help_text="The chunk selection: all, first:N or ids like 0-63,70.")
    chunk_count = models.PositiveIntegerField()
    output_format = models.CharField(
        max_length=10, choices=OutputFormat.choices, default=OutputFormat.PARQUET
    )
    output_dir = models.CharField(
        max_length=500, blank=True, help_text="Empty: ASSAY_DATAGEN_ROOT/<run id>."
    )
    load_engine = models.ForeignKey(
        Engine, null=True, blank=True, on_delete=models.PROTECT, related_name="datagen_runs"
    )
    replace_tables = models.BooleanField(default=False)
    chunk_attempts = models.PositiveIntegerField(default=3)
    completed_at = models.DateTimeField(null=True, blank=True)
    results_run = models.CharField(max_length=200, blank=True)

    class Meta(JobBase.Meta):
        verbose_name = "data generation run"

    def __str__(self) -> str:
        return f"datagen run {self.pk} ({self.spec_name})"

    @property
    def output_path(self) -> Path | None:
        if self.output_format == OutputFormat.NONE:
            return None
        if self.output_dir:
            return Path(self.output_dir)
        return Path(settings.ASSAY_DATAGEN_ROOT) / str(self.pk)


class Chunk(JobBase):
    log_every_attempt = False

    run = models.ForeignKey(DatagenRun, on_delete=models.CASCADE, related_name="chunk_rows")
    chunk_id = models.BigIntegerField()
    rows = models.BigIntegerField(null=True, blank=True)
    bytes = models.BigIntegerField(null=True, blank=True)
    checksum = models.CharField(max_length=64, blank=True)
    table_rows = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["chunk_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "chunk_id"], name="datagen_chunk_once_per_run")
        ]
        indexes = [models.Index(fields=["run", "state"], name="datagen_chunk_run_state")]

    def __str__(self) -> str:
        return f"chunk {self.chunk_id} of run {self.run_id}"

    # A chunk's log lines go to its run's log: one file to read, not thousands.
    @property
    def log_dir(self) -> Path:
        return Path(settings.MEDIA_ROOT) / "logs" / "datagen" / str(self.run_id)

    @property
    def log_url(self) -> str:
        return f"{settings.MEDIA_URL}logs/datagen/{self.run_id}/job.log"

    def log(self, message: str) -> None:
        super().log(f"chunk {self.chunk_id}: {message}")
