"""Test runs and their results, expected tests, contacts (Pandokia's data model)."""

from __future__ import annotations

import operator
import re
from functools import reduce

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.fields import BytewiseCharField
from core.models import JobBase

STATUS_RE = re.compile(r"^[PFEDMa-z]$")
status_validator = RegexValidator(
    STATUS_RE, "A status is P, F, E, D, M or one lower-case letter of your own."
)

STATUS_LETTERS = ["P", "F", "E", "D", "M", *"abcdefghijklmnopqrstuvwxyz"]
STATUS_LABELS = {"P": "pass", "F": "fail", "E": "error", "D": "disabled", "M": "missing"}
STATUS_ORDER = ["P", "F", "E", "D", "M"]

# A run attribute's key: no `:` (the filter's `attr=KEY:VALUE`), no `=` (the CLI's
# `--attr KEY=VALUE`), and a letter first (a number would be read as an array index in a JSON
# path). Values are one line of text (results.services.builds).
ATTRIBUTE_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")


class Project(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TestRun(models.Model):
    """A named run. `daily_2026-11-23` style names get a prefix and a date (recurring runs).

    Deleting a run only marks it (deleted_at); clean_results removes its rows later in
    bounded chunks, so deletion never holds a long lock. Live names are unique; a deleted
    run's name can be imported again before the cleaner has run.
    """

    __test__ = False  # not a pytest test class

    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=100, blank=True, db_index=True)
    run_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    valuable = models.BooleanField(
        default=False, help_text="Valuable runs are refused by delete_runs and the admin."
    )
    note = models.TextField(blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Counts per status, recomputed by results.services after every write to the run:
    # the run list shows them without scanning millions of results.
    status_counts = models.JSONField(default=dict, blank=True)
    # A build of a series: previous/next, history, flaky and trends follow a series in order of
    # start time (any number of runs a day). `<prefix>_YYYY-MM-DD` names get series = prefix.
    series = models.CharField(max_length=200, blank=True, db_index=True)
    started_at = models.DateTimeField(
        default=timezone.now,
        help_text="Explicit, or the recurring name's date, or when the run was created.",
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    branch = models.CharField(max_length=200, blank=True, db_index=True)
    commit = models.CharField(max_length=200, blank=True, db_index=True)
    build_url = models.URLField(max_length=1000, blank=True)
    # Any other key/values of the build (environment, platform, ...), strings only.
    attributes = models.JSONField(default=dict, blank=True)
    # The sum of its results' durations, recomputed with status_counts: a series' duration
    # trend reads runs, not a million results.
    duration_total = models.FloatField(null=True, blank=True)
    # Its SLOWEST_KEPT slowest results, [project id, host, context, test name, seconds]: the
    # candidates of a series' slowest tests, so the trend never reads a window's results.
    slowest = models.JSONField(default=list, blank=True)
    # Results were written whose tests may not be in KnownTest yet: a SearchIndexJob adds them
    # after the import (their trigram index entries cost more than the results' own write).
    # Until then the search reads such runs' results directly (results.selectors.search).
    search_pending = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(deleted_at__isnull=True), name="unique_live_run_name"
            )
        ]
        indexes = [
            models.Index(fields=["prefix", "run_date"], name="run_prefix_date"),
            models.Index(fields=["series", "started_at"], name="run_series_start"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> int:
        return sum(self.status_counts.values())


class TestResult(models.Model):
    __test__ = False

    # No index of its own: the identity constraint's index starts with run.
    # No foreign-key constraints in the database (db_constraint=False), for the bulk import's
    # sake: PostgreSQL checks each row's two keys at commit, a query each (2 s of a 50,000-
    # result import). Every write goes through results.services.imports, which locks the run
    # and creates the projects in the same transaction; CASCADE and PROTECT are Django's.
    run = models.ForeignKey(
        TestRun,
        on_delete=models.CASCADE,
        related_name="results",
        db_index=False,
        db_constraint=False,
    )
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="results", db_constraint=False
    )
    # Bytewise: the import's index inserts compare these, and a tree narrows by name prefix.
    host = BytewiseCharField(max_length=200, blank=True)
    context = BytewiseCharField(max_length=200, blank=True)
    test_name = BytewiseCharField(max_length=1000)
    status = models.CharField(max_length=1, validators=[status_validator])
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)
    location = models.CharField(max_length=1000, blank=True)
    test_runner = models.CharField(max_length=100, blank=True)
    log = models.TextField(blank=True)
    # The log's full size in bytes (UTF-8): a log past ASSAY_MAX_LOG_BYTES is stored cut, its
    # head and tail kept (results.services.logs.clip_log).
    log_size = models.BigIntegerField(default=0, db_default=0)
    # A failure's reason: JUnit's failure/error message (or its text's first line), pdk's log's
    # first line; and the hash of its normalized form, which clusters failures across runs.
    message = models.CharField(max_length=1000, blank=True, default="", db_default="")
    fingerprint = models.CharField(max_length=16, blank=True, default="", db_default="")
    # Failed attempts before this result (JUnit reruns): a P with retries passed on retry.
    retries = models.PositiveSmallIntegerField(default=0, db_default=0)
    tda = models.JSONField(default=dict, blank=True)
    tra = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField()

    class Meta:
        constraints = [
            # test_name second: the same index serves a run's page in name order and
            # narrowing a run to a dotted prefix, so no other index on names is kept up.
            models.UniqueConstraint(
                fields=["run", "test_name", "project", "host", "context"],
                name="unique_result_identity",
            ),
            # Equalities ORed, not a regex (SQLite evaluates REGEXP in Python on every insert)
            # nor an IN list (SQLite builds a table of the list for each row inserted: 40% of
            # a bulk insert's time). Most rows match the first, "P".
            models.CheckConstraint(
                condition=reduce(operator.or_, (Q(status=letter) for letter in STATUS_LETTERS)),
                name="result_status_one_letter",
            ),
        ]
        indexes = [
            # Covers counts per status, a status filter in name order, and the tree walk's
            # GROUP BY over names without reading the table.
            models.Index(fields=["run", "status", "test_name"], name="result_run_status"),
            # A cluster's page across runs; partial, so passing results cost no index entry.
            models.Index(
                fields=["fingerprint", "run"],
                condition=~Q(fingerprint=""),
                name="result_fingerprint",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.test_name} [{self.status}]"

    @property
    def log_truncated(self) -> bool:
        """True when the stored log is shorter than the log that was imported."""
        return self.log_size > len(self.log.encode("utf-8", "surrogatepass"))


class KnownTest(models.Model):
    """Every test identity (project, host, context, name) that has had a result: what the
    search looks through, a few thousand names instead of a million results. Added to by a
    SearchIndexJob after each import (results.services.search); never removed (a test whose
    runs are all gone is still found, with no recent status)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    host = models.CharField(max_length=200, blank=True)
    context = models.CharField(max_length=200, blank=True)
    test_name = models.CharField(max_length=1000)

    class Meta:
        constraints = [
            # Name first: the search's order, and a prefix search seeks in it.
            models.UniqueConstraint(
                fields=["test_name", "project", "host", "context"], name="unique_known_test"
            )
        ]
        # PostgreSQL also has a pg_trgm index on test_name for substring search (migration
        # 0008_trends_search_index), when the extension could be created.

    def __str__(self) -> str:
        return self.test_name


class RunImport(models.Model):
    """One import into a run: when, who, from what, and what it wrote (the run's import
    history, shown on its page). Written in the import's own transaction."""

    run = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="imports")
    at = models.DateTimeField()
    who = models.CharField(max_length=150, help_text='A username, "cli", or the producer.')
    source = models.CharField(max_length=1000, blank=True, help_text="The files, or the producer.")
    results = models.PositiveIntegerField(help_text="Results written.")
    new = models.PositiveIntegerField()
    reimported = models.PositiveIntegerField(help_text="Replaced an earlier real result.")
    replaced_missing = models.PositiveIntegerField(help_text="Replaced an M record.")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["run", "-at"], name="runimport_run_at")]

    def __str__(self) -> str:
        return f"{self.run} by {self.who} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def changed(self) -> int:
        """Results this import changed (re-imported, or missing replaced)."""
        return self.reimported + self.replaced_missing


class ExpectedTest(models.Model):
    """A test that every run of a class (e.g. "daily") should contain."""

    run_class = models.CharField(max_length=100)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="expected_tests")
    host = models.CharField(max_length=200, blank=True)
    context = models.CharField(max_length=200, blank=True)
    test_name = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_class", "project", "test_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["run_class", "project", "host", "context", "test_name"],
                name="unique_expected_test",
            )
        ]

    def __str__(self) -> str:
        return f"{self.run_class}: {self.test_name}"


class Contact(models.Model):
    """Who hears about failures under a test-name prefix of a project (used by notify)."""

    class Format(models.TextChoices):
        SUMMARY = "summary", "Summary"
        FULL = "full", "Full"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="contacts")
    test_prefix = models.CharField(max_length=1000, blank=True)
    email = models.EmailField()
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.SUMMARY)
    line_limit = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["project", "test_prefix", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "test_prefix", "email"], name="unique_contact"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.project}: {self.test_prefix or '*'})"


class Announcement(models.Model):
    """A run announced to one address by notify_contacts: at most one e-mail per (run, address).

    The row is written before the e-mail goes out (sent_at empty: being sent) and completed once
    the mail server has accepted it, so two notifiers running at once never both send."""

    run = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="announcements")
    email = models.EmailField()
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    tests = models.PositiveIntegerField(default=0, help_text="F, E and M results reported.")

    class Meta:
        ordering = ["-claimed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["run", "email"], name="unique_announcement")]

    def __str__(self) -> str:
        return f"{self.run} -> {self.email}"


class CleanJob(JobBase):
    """Removes what deleted runs left behind, in chunks (queued by the admin's delete)."""

    rows_deleted = models.BigIntegerField(default=0)
    runs_removed = models.IntegerField(default=0)


class FlakyTest(models.Model):
    """A test whose status flipped at least ASSAY_FLAKY_FLIPS times in the last
    ASSAY_HISTORY_RUNS runs of a series (a pass on retry counting as a flip).

    Derived data: results.services.flaky replaces a series' rows in one transaction (after
    writes to its runs, or `manage.py refresh_flaky`), so pages read the answer instead of
    walking a million results per view."""

    series = models.CharField(max_length=200)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    host = models.CharField(max_length=200, blank=True)
    context = models.CharField(max_length=200, blank=True)
    test_name = models.CharField(max_length=1000)
    flips = models.PositiveIntegerField(help_text="Status changes, passes on retry included.")
    retried = models.PositiveIntegerField(default=0, help_text="Passes on retry among the flips.")
    runs = models.PositiveIntegerField(help_text="Runs of the window in which the test ran.")
    last_status = models.CharField(max_length=1)
    # No constraint: clean_results removes results in chunks and must not trip over these
    # derived rows; a dangling link lasts until the next refresh.
    last_result = models.ForeignKey(
        TestResult, on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    window_end = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["series", "-flips", "test_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "project", "host", "context", "test_name"],
                name="unique_flaky_test",
            )
        ]
        indexes = [models.Index(fields=["series", "-flips"], name="flaky_series_flips")]

    def __str__(self) -> str:
        return f"{self.series}: {self.test_name} ({self.flips} flips)"


class SearchIndexJob(JobBase):
    """Adds the tests of runs written since (TestRun.search_pending) to KnownTest, the search's
    list of tests. Queued after imports, debounced: one queued job serves many imports."""

    runs = models.IntegerField(default=0, help_text="Runs whose tests were added.")

    log_every_attempt = False  # one follows nearly every import: failures only


class FlakinessJob(JobBase):
    """Recomputes the flaky tests of one series (queued after writes to its runs, debounced)."""

    series = models.CharField(max_length=200)
    flaky = models.IntegerField(default=0, help_text="Flaky tests found.")

    class Meta(JobBase.Meta):
        indexes = [models.Index(fields=["series", "state"], name="flakinessjob_series_state")]


class DefectType(models.TextChoices):
    TO_INVESTIGATE = "to_investigate", "To investigate"
    PRODUCT_BUG = "product_bug", "Product bug"
    TEST_BUG = "test_bug", "Test bug"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"


FINGERPRINT_RE = re.compile(r"^[0-9a-f]{16}$")


class Triage(models.Model):
    """What a person decided about a test (project + name, optionally one host and/or context;
    blank means any) or a failure cluster (a fingerprint): its defect type, ticket, and
    whether it is muted. A mute past `muted_until` is simply no mute: nothing lifts it.

    A muted test still records results; it is left out of regressions, red counts, flaky
    alerts and e-mails (results.selectors.triage)."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, null=True, blank=True, related_name="triages"
    )
    # Bytewise as TestResult's: a mute is matched against results by equality, and an index
    # serves that only in the results' collation.
    test_name = BytewiseCharField(max_length=1000, blank=True)
    host = BytewiseCharField(max_length=200, blank=True, help_text="Blank: any host.")
    context = BytewiseCharField(max_length=200, blank=True, help_text="Blank: any context.")
    fingerprint = models.CharField(
        max_length=16, blank=True, help_text="A failure cluster instead of a test."
    )
    defect_type = models.CharField(
        max_length=20, choices=DefectType.choices, default=DefectType.TO_INVESTIGATE
    )
    ticket = models.URLField(max_length=1000, blank=True)
    muted = models.BooleanField(default=False)
    muted_until = models.DateTimeField(
        null=True, blank=True, help_text="Empty: muted until unmuted. Past: not muted."
    )
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=150)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(fingerprint="", project__isnull=False) & ~Q(test_name="")
                    | ~Q(fingerprint="")
                    & Q(project__isnull=True, test_name="", host="", context="")
                ),
                name="triage_one_target",
            ),
            models.UniqueConstraint(
                fields=["project", "test_name", "host", "context"],
                condition=Q(fingerprint=""),
                name="unique_triage_test",
            ),
            models.UniqueConstraint(
                fields=["fingerprint"], condition=~Q(fingerprint=""), name="unique_triage_cluster"
            ),
        ]
        # The mute lookups of results.selectors.triage: by test name, by fingerprint.
        indexes = [
            models.Index(fields=["test_name", "project"], name="triage_test"),
            models.Index(fields=["muted", "muted_until"], name="triage_muted"),
        ]

    def __str__(self) -> str:
        return f"{self.target_label}: {self.get_defect_type_display()}"

    @property
    def is_cluster(self) -> bool:
        return bool(self.fingerprint)

    @property
    def target_label(self) -> str:
        if self.fingerprint:
            return f"cluster {self.fingerprint}"
        narrowed = (("host", self.host), ("context", self.context))
        where = " ".join(f"{k}={v}" for k, v in narrowed if v)
        return f"{self.test_name}{f' ({where})' if where else ''}"

    def is_muted(self, now=None) -> bool:
        """Muted now: on, and not past its expiry."""
        now = now or timezone.now()
        return self.muted and (self.muted_until is None or self.muted_until > now)


class TriageComment(models.Model):
    triage = models.ForeignKey(Triage, on_delete=models.CASCADE, related_name="comments")
    author = models.CharField(max_length=150)
    at = models.DateTimeField(default=timezone.now)
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.author} at {self.at:%Y-%m-%d %H:%M}"
