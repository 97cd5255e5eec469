"""A crash test's record: its options, what it found (the report), and where its files are.
The work is crashtest/services/crashruns.py's; the harness is the pure crashtest/harness/."""

from __future__ import annotations

from django.db import models


class CrashRun(models.Model):
    class State(models.TextChoices):
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"  # a check failed, or the watchdog paused the world
        ERROR = "error", "Error"  # the test itself could not run (a site that would not start)

    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seed = models.BigIntegerField()
    minutes = models.FloatField()
    workers = models.PositiveIntegerField()
    nemeses = models.JSONField(default=list)
    workloads = models.JSONField(default=list)
    broker = models.CharField(max_length=16)
    database = models.CharField(max_length=16)
    kills = models.PositiveIntegerField(default=0)
    # The whole report (docs/crashtest.md: "The report"): events, completions, worker lives,
    # checks, the progress line. Also written as report.json in `folder`.
    report = models.JSONField(default=dict, blank=True)
    folder = models.CharField(max_length=500, blank=True)
    results_run = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"crash test {self.pk} ({self.state})"

    @property
    def failed_checks(self) -> list[dict]:
        return [c for c in self.report.get("checks", []) if not c.get("ok", True)]
