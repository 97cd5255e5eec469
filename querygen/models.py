"""Random-query testing: pairs to test continuously, runs (jobs), and what they found, grouped.

A run checks generated queries (seed, index) with an oracle; every finding is reduced and
signed (querygen.engine.pipeline), and lands in the group of its signature. Groups are the
bugs: their status (new, known, fixed, ignored) is what people work with; findings are the
samples behind them (a few kept per group, all counted).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models

from core.models import Engine, JobBase


class OracleKind(models.TextChoices):
    DIFFERENTIAL = "differential", "Differential (system under test vs reference)"
    TLP = "tlp", "TLP (ternary logic partitioning, one engine)"
    NOREC = "norec", "NoREC (non-optimizing reference, one engine)"
    PLAN = "plan", "Plan (optimizer rules off, one DuckDB or PostgreSQL engine)"


class EngineSettings(models.Model):
    """What a pair and a run share: which engines, which oracle, which queries, which limits."""

    sut = models.ForeignKey(
        Engine, on_delete=models.PROTECT, related_name="+", verbose_name="system under test"
    )
    reference = models.ForeignKey(
        Engine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Required by the differential oracle; TLP, NoREC and plan use one engine.",
    )
    oracle = models.CharField(
        max_length=20, choices=OracleKind.choices, default=OracleKind.DIFFERENTIAL
    )
    sut_python = models.CharField(
        max_length=500,
        blank=True,
        help_text="A private build: the Python interpreter (of another virtualenv) whose "
        "sqlite3 or duckdb module runs the system under test's file. Empty: this one.",
    )
    ladder = models.JSONField(
        default=list,
        blank=True,
        help_text="Releases between the system under test and the reference, oldest first: "
        "the Python interpreters of their virtualenvs (manage.py querygen_release). Each "
        "reduced finding's reproducer runs on every one; its group records the first release "
        "from which it stops failing (generated databases, differential oracle).",
    )
    profile = models.JSONField(
        default=dict, blank=True, help_text="Query profile settings over the defaults."
    )
    budget_queries = models.PositiveIntegerField(null=True, blank=True)
    budget_seconds = models.PositiveIntegerField(null=True, blank=True)
    timeout = models.FloatField(default=2.0, help_text="Seconds per query and engine.")
    max_rows = models.PositiveIntegerField(default=10_000)

    class Meta:
        abstract = True

    @property
    def scope(self) -> str:
        """What a group's signature is relative to: the oracle and the engines."""
        sut = self.sut.name + (f"@{self.sut_python}" if self.sut_python else "")
        if self.oracle == OracleKind.DIFFERENTIAL and self.reference is not None:
            return f"differential {sut} vs {self.reference.name}"
        return f"{self.oracle} on {sut}"


def _pair_name(value: str) -> None:
    # The name is the prefix of the pair's results runs (querygen-<name>_<id>): no "_", and
    # not the prefix of runs without a pair.
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value) or value == "custom":
        raise ValidationError(
            "Lower-case letters, digits and '-' (no '_'), not 'custom': the name is the prefix "
            "of the pair's runs in results."
        )


class Pair(EngineSettings):
    """A configured pair: the schedule starts a run of it every `every_minutes` (0: as soon as
    the last one finished)."""

    name = models.CharField(max_length=100, unique=True, validators=[_pair_name])
    every_minutes = models.PositiveIntegerField(default=180)
    enabled = models.BooleanField(default=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(
        blank=True, help_text="Why the schedule could not start the last run (empty: it could)."
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class QuerygenRun(JobBase, EngineSettings):
    """A run is a job: check queries first_index, first_index + 1, ... until a budget is spent.
    Counts and next_index are checkpointed on the row, so a run picked up again by another
    worker (after a crash) goes on where the last checkpoint left it; findings are unique per
    (run, index), so a query checked twice is recorded once."""

    pair = models.ForeignKey(
        Pair, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    label = models.CharField(max_length=100, blank=True)
    seed = models.PositiveBigIntegerField()
    first_index = models.PositiveBigIntegerField(default=0)
    next_index = models.PositiveBigIntegerField(default=0)
    max_reductions = models.PositiveIntegerField(
        default=500,
        help_text="Findings reduced per run at most (and in at most half its time); the rest "
        "join the group of a finding that differed the same way, or are grouped by their query.",
    )
    # counts, checkpointed while the run goes on
    queries = models.PositiveIntegerField(default=0)
    matches = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    row_counts = models.PositiveIntegerField(default=0)
    contents = models.PositiveIntegerField(default=0)
    crashes = models.PositiveIntegerField(default=0)
    timeouts = models.PositiveIntegerField(default=0)
    too_big = models.PositiveIntegerField(default=0)
    both_errors = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    reference_ok = models.PositiveIntegerField(default=0)
    findings = models.PositiveIntegerField(default=0)
    silenced = models.PositiveIntegerField(default=0)
    reductions = models.PositiveIntegerField(default=0)
    wall_seconds = models.FloatField(default=0.0)
    engine_seconds = models.FloatField(default=0.0)
    sut_version = models.CharField(max_length=200, blank=True)
    reference_version = models.CharField(max_length=200, blank=True)
    report = models.TextField(blank=True)
    results_run = models.CharField(max_length=200, blank=True)

    class Meta(JobBase.Meta):
        verbose_name = "querygen run"

    def __str__(self) -> str:
        return f"querygen run {self.pk} ({self.scope})"

    @property
    def queries_per_second(self) -> float:
        return self.queries / self.wall_seconds if self.wall_seconds > 0 else 0.0


class GroupStatus(models.TextChoices):
    NEW = "new", "New"
    KNOWN = "known", "Known"
    FIXED = "fixed", "Fixed"
    IGNORED = "ignored", "Ignored"


class Group(models.Model):
    """One bug: the findings whose reduced queries share a signature within one scope."""

    scope = models.CharField(max_length=300)
    signature = models.CharField(max_length=32)
    kind = models.CharField(max_length=20)
    shape = models.TextField()
    error = models.TextField(blank=True, help_text="The normalized error text.")
    title = models.CharField(max_length=300)
    status = models.CharField(
        max_length=10, choices=GroupStatus.choices, default=GroupStatus.NEW, db_index=True
    )
    link = models.URLField(max_length=500, blank=True, help_text="The bug report, when known.")
    note = models.TextField(blank=True)
    count = models.PositiveIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    first_run = models.ForeignKey(
        QuerygenRun, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_run = models.ForeignKey(
        QuerygenRun, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reduced = models.BooleanField(
        default=True, help_text="False: its findings were over the run's reduction budget."
    )
    fixed_in = models.CharField(
        max_length=200,
        blank=True,
        help_text="The first release of the run's ladder from which the reproducer stops "
        "failing: where the bug was fixed.",
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged",
        help_text="Merged by hand into this group: its findings (and later ones of its "
        "signature) are that group's.",
    )

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "signature"], name="querygen_group_once")
        ]

    def __str__(self) -> str:
        return f"{self.signature} {self.title}"


class Finding(models.Model):
    """One failing query: a sample of its group (a few kept per group)."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="samples")
    run = models.ForeignKey(QuerygenRun, on_delete=models.CASCADE, related_name="finding_rows")
    seed = models.PositiveBigIntegerField()
    index = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=20)
    detail = models.TextField(blank=True)
    engines = models.JSONField(default=dict, help_text="The engine each side ran on.")
    sql = models.JSONField(default=dict, help_text="The generated query, per side.")
    reduced_sql = models.JSONField(default=dict, help_text="The reduced query, per side.")
    reduced_query = models.TextField(
        blank=True, help_text="The reduced query in sqlglot's own dialect: what a replay parses."
    )
    errors = models.JSONField(default=dict, blank=True)
    results = models.JSONField(
        default=list,
        blank=True,
        help_text="Both sides' answers to the reduced query (truncated), differing rows marked.",
    )
    original_size = models.PositiveIntegerField(default=0)
    reduced_size = models.PositiveIntegerField(default=0)
    scripts = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per side, a reproducer that runs as it is in that side's engine: the "
        "statements that make the reduced database, the reduced query, both answers "
        "(generated databases only).",
    )
    fixed_in = models.CharField(
        max_length=200, blank=True, help_text="Where its reproducer stops failing (the ladder)."
    )
    original_rows = models.PositiveIntegerField(
        default=0, help_text="Rows of the generated database the query ran on."
    )
    reduced_rows = models.PositiveIntegerField(
        null=True, blank=True, help_text="Rows left in the reproducer's database."
    )
    reduction_checks = models.PositiveIntegerField(default=0)
    raw_signature = models.CharField(max_length=32, db_index=True)
    difference = models.CharField(
        max_length=300,
        blank=True,
        db_index=True,
        help_text="How the answers differ (pipeline.difference_key); empty when that says little.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="querygen_finding_once_per_run")
        ]

    def __str__(self) -> str:
        return f"finding {self.seed}:{self.index} ({self.kind})"


class KnownIssue(models.Model):
    """A bug already reported: a regular expression over a finding's kind, error, shape and
    SUT SQL (querygen.engine.signature.match_text). Matching groups are marked known with the
    link (label), or their findings are only counted (silence)."""

    class Action(models.TextChoices):
        LABEL = "label", "Label (mark known, link)"
        SILENCE = "silence", "Silence (count only)"

    pattern = models.CharField(max_length=500)
    url = models.URLField(max_length=500)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.LABEL)
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.pattern} -> {self.url}"
