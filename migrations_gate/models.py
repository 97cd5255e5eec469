"""The migration gate: datasets (anonymized copies kept as templates), gated projects, and
checks (jobs) that run a change's migrations on every dataset of its project.

A dataset is registered once from its source and never read from the source again: on
PostgreSQL it is a template database on the gate's server (each check clones it), on SQLite a
file. A check's per-migration timings are kept apart (MigrationTiming) because they are the
history the time limits are learned from.
"""

from __future__ import annotations

from django.db import models

from core.models import Engine, JobBase

SLUG_HELP = "Lower-case letters, digits and -."


class DatasetKind(models.TextChoices):
    POSTGRESQL = "postgresql", "PostgreSQL (a template database on the gate's server)"
    SQLITE = "sqlite", "SQLite (a file)"


class MigrationKind(models.TextChoices):
    DJANGO = "django", "Django (manage.py migrate, one migration at a time)"
    ALEMBIC = "alembic", "Alembic (upgrade, one revision at a time)"
    SQL = "sql", "SQL files (V<version>__<name>.sql, Flyway's naming)"


class Outcome(models.TextChoices):
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILURE = "FAILURE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class Dataset(models.Model):
    name = models.SlugField(max_length=100, unique=True, help_text=SLUG_HELP)
    kind = models.CharField(max_length=20, choices=DatasetKind.choices)
    server = models.ForeignKey(
        Engine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="PostgreSQL: the gate's server, where the template and its clones live.",
    )
    template = models.CharField(
        max_length=63, blank=True, help_text="PostgreSQL: the template database's name."
    )
    path = models.CharField(max_length=1000, blank=True, help_text="SQLite: the file.")
    source = models.CharField(
        max_length=500, help_text="Where it was copied from (no password); never read again."
    )
    rules = models.TextField(blank=True, help_text="The anonymization rules (YAML) applied.")
    rules_digest = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    tables = models.JSONField(default=dict, blank=True, help_text="Rows per table.")
    schema_version = models.JSONField(
        default=dict, blank=True, help_text="What the dataset's migration history says it is at."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    name = models.SlugField(max_length=100, unique=True, help_text=SLUG_HELP)
    repository = models.CharField(
        max_length=1000, help_text="A git URL or path; the gate keeps a mirror of it."
    )
    kind = models.CharField(max_length=20, choices=MigrationKind.choices)
    directory = models.CharField(
        max_length=500, blank=True, help_text="Where in the repository the project is ('' top)."
    )
    target = models.CharField(
        max_length=500,
        blank=True,
        help_text="Django: the settings module; Alembic: the ini file (alembic.ini); "
        "SQL: the migrations directory.",
    )
    requirements = models.JSONField(
        default=list,
        blank=True,
        help_text="Requirements files (paths in the repository) installed into the project's "
        "environment, cached by their hash. Empty: the gate's own interpreter.",
    )
    datasets = models.ManyToManyField(Dataset, related_name="projects", blank=True)
    time_limit_seconds = models.PositiveIntegerField(
        default=3600, help_text="The most a check may spend on one dataset."
    )
    default_migration_seconds = models.FloatField(
        default=120.0, help_text="A migration's time limit until enough runs teach one."
    )
    min_history = models.PositiveIntegerField(
        default=5, help_text="Successful runs of a migration before its limit is learned."
    )
    too_long_fails = models.BooleanField(
        default=False, help_text="A migration over its limit fails the check (else a warning)."
    )
    lock_budget_seconds = models.FloatField(
        default=1.0, help_text="ACCESS EXCLUSIVE on a large table longer than this: a warning."
    )
    large_table_bytes = models.BigIntegerField(default=64 * 1024 * 1024)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Check(JobBase):
    """One change (a ref) of a project, checked on every dataset of the project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="checks")
    ref = models.CharField(max_length=300, help_text="A branch, tag, commit or change ref.")
    refspec = models.CharField(
        max_length=600,
        blank=True,
        help_text="Fetched from the origin first (Gerrit's refs/changes/34/1234/2:refs/heads/x)"
        ", when the ref is not one the origin advertises.",
    )
    commit = models.CharField(max_length=40, blank=True)
    recheck_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rechecks"
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    datasets = models.JSONField(
        default=list,
        blank=True,
        help_text="Per dataset: its outcome, findings, and each migration's time and measures.",
    )
    summary = models.TextField(blank=True, help_text="Markdown a CI posts as a comment.")
    results_run = models.CharField(max_length=200, blank=True)

    class Meta(JobBase.Meta):
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"check {self.pk} of {self.project} at {self.ref}"


class MigrationTiming(models.Model):
    """A migration's time on a dataset in one check: the history its time limit is learned
    from (successful runs only count)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    migration = models.CharField(max_length=300)
    check_run = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="timings")
    seconds = models.FloatField()
    ok = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["project", "dataset", "migration", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.migration} on {self.dataset_id}: {self.seconds:.3f}s"
