"""What every app shares. JobBase is the job pattern of docs/architecture.md: a job is a row
first."""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core import secrets
from core.exceptions import AssayError
from core.roles import PERMISSIONS
from dbkinds import postgresql


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class JobBase(models.Model):
    """A unit of background work whose truth is this row, not the task queue.

    django-q carries only the row's id (core.jobs.enqueue). A worker claims the row with a
    lease (core.jobs.claim); a worker that dies leaves an expired lease, and the reaper
    (core.jobs.reap_jobs) puts the row back in the queue. What works a row is registered by
    its app's tasks.py (core.registry.register_job), never written here: models hold data.
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

    # Jobs run by the thousand (datagen's chunks) log failures only, not every start and end.
    log_every_attempt = True

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def lease_expired(self) -> bool:
        return self.lease_expires_at is not None and self.lease_expires_at < timezone.now()

    @property
    def is_finished(self) -> bool:
        return self.state in (JobState.SUCCEEDED, JobState.FAILED)

    @property
    def has_failed(self) -> bool:
        return self.state == JobState.FAILED

    @property
    def log_dir(self) -> Path:
        return Path(settings.MEDIA_ROOT) / "logs" / self._meta.app_label / str(self.pk)

    @property
    def log_url(self) -> str:
        return f"{settings.MEDIA_URL}logs/{self._meta.app_label}/{self.pk}/job.log"

    def log(self, message: str) -> None:
        """Append a line to the job's log (MEDIA_ROOT; staff read it), secrets scrubbed."""
        message = secrets.scrub(message)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / "job.log", "a", encoding="utf-8") as fh:
            fh.write(f"{timezone.now().isoformat(timespec='seconds')} {message}\n")


ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class Engine(models.Model):
    """A database endpoint that datagen loads and querygen queries. The row holds where it is;
    a secret never is: `password_env` names the environment variable that holds it."""

    class Kind(models.TextChoices):
        SQLITE = "sqlite", "SQLite"
        DUCKDB = "duckdb", "DuckDB"
        POSTGRESQL = "postgresql", "PostgreSQL"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    path = models.CharField(
        max_length=500, blank=True, help_text="SQLite/DuckDB: the database file."
    )
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    database = models.CharField(max_length=100, blank=True)
    user = models.CharField(max_length=100, blank=True)
    password_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="PostgreSQL: the environment variable holding the password (not the password).",
    )
    options = models.JSONField(default=dict, blank=True, help_text="Extra connection options.")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        errors = {}
        if self.kind in (self.Kind.SQLITE, self.Kind.DUCKDB) and not self.path:
            errors["path"] = "A file engine needs the path of its database file."
        if self.kind == self.Kind.POSTGRESQL and not (self.host and self.database):
            errors["host"] = "A PostgreSQL engine needs a host and a database."
        if self.password_env and not ENV_NAME_RE.match(self.password_env):
            errors["password_env"] = "An environment variable name, e.g. ENGINE_PG_PASSWORD."  # noqa: S105
        if not isinstance(self.options, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int)) for k, v in self.options.items()
        ):
            errors["options"] = "Options are a JSON object of names to strings or numbers."
        if errors:
            raise ValidationError(errors)

    def password(self) -> str:
        """The secret, read from the environment when it is needed (never stored)."""
        if not self.password_env:
            return ""
        value = os.environ.get(self.password_env)
        if value is None:
            raise AssayError(
                f"Engine {self.name}: the environment variable {self.password_env} "
                "(its password) is not set.",
                code="engine_secret_missing",
            )
        return value

    def conninfo(self) -> str:
        """A libpq connection string for PostgreSQL engines (values quoted as libpq wants)."""
        if self.kind != self.Kind.POSTGRESQL:
            raise ValueError(f"{self.name} is a {self.kind} engine, not PostgreSQL")
        parts = {
            "host": self.host,
            "port": self.port,
            "dbname": self.database,
            "user": self.user,
            "password": self.password(),
            **self.options,
        }
        return postgresql.conninfo(parts)


class Access(models.Model):
    """No table: it only carries the permissions of core.roles (Django ties a permission to a
    model). Groups (the roles) hold them; see core/roles.py and docs/permissions.md."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = list(PERMISSIONS.items())

    def __str__(self) -> str:
        return "access"
