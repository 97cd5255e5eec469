"""What `make run` starts on a first start: DuckDB (system under test) against SQLite
(reference) on databases of querygen's own, as a pair the schedule runs again and again, so the
dashboard fills with findings as they come; and the differences of meaning between the two
engines, documented by them, as known issues, so that what stays new is worth a look."""

from __future__ import annotations

from core.models import Engine
from querygen.models import KnownIssue, Pair

DEMO_PAIR = "duckdb-vs-sqlite"

# (pattern, documentation, description): searched in a finding's kind, normalized error, SUT
# SQL and shape (signature.match_text). Documented behaviour of one engine, not bugs.
DEMO_KNOWN_ISSUES = (
    (
        r"(?s)^error\n[^\n]*Out of Range Error: Overflow (in|on) ",
        "https://duckdb.org/docs/stable/sql/data_types/numeric",
        "DuckDB's INTEGER has 32 bits and DECIMAL(p,s) its precision, and overflowing them is an "
        "error; SQLite's integers have 64 bits and its decimals are floats",
    ),
    (
        # The shape: an INNER JOIN on a condition without columns (constant false), then a
        # RIGHT or FULL JOIN: SQLite before 3.43 drops the preserved side's rows.
        r"(?s)^(row_count|content)\n.*Join(\[kind=INNER\])?"
        r"\(Table on:(?:(?!Column|Select)[^\n])*?\) Join\[side=(FULL|RIGHT)\]",
        "https://sqlite.org/changes.html",
        "SQLite before 3.43 (Debian 12's 3.40.1 is the reference) loses the preserved side of a "
        "RIGHT or FULL JOIN that follows an INNER JOIN on a constant false condition; 3.43 and "
        "later answer as DuckDB does",
    ),
    (
        r"(?s)^error\n[^\n]*integer overflow",
        "https://www.sqlite.org/datatype3.html",
        "SQLite's sum() of 64-bit integers overflows where DuckDB's widens to HUGEINT",
    ),
)


def ensure_demo_known_issues() -> list[KnownIssue]:
    """The demo's known issues (created once each, by pattern; an admin's edits are kept)."""
    return [
        KnownIssue.objects.get_or_create(
            pattern=pattern,
            defaults={"url": url, "action": KnownIssue.Action.LABEL, "description": text[:300]},
        )[0]
        for pattern, url, text in DEMO_KNOWN_ISSUES
    ]


def ensure_demo_pair() -> Pair | None:
    """The demo pair (created once; an admin's later edits are kept) and its known issues; None
    without the demo engines (`manage.py datagen demo` makes them)."""
    engines = {
        e.name: e for e in Engine.objects.filter(name__in=["querygen-duckdb", "querygen-sqlite"])
    }
    if len(engines) < 2:
        return None
    ensure_demo_known_issues()
    pair, _ = Pair.objects.get_or_create(
        name=DEMO_PAIR,
        defaults={
            "sut": engines["querygen-duckdb"],
            "reference": engines["querygen-sqlite"],
            # A 15-minute run every 20 minutes: continuous, with a report (and a results run)
            # three times an hour; each run under django-q's task timeout (ASSAY_Q_TIMEOUT).
            "every_minutes": 20,
            "budget_seconds": 15 * 60,
            "timeout": 1.0,
            "profile": {},  # the defaults: databases of querygen's own, every construct
            "description": "The demo: DuckDB against SQLite on databases of querygen's own.",
        },
    )
    return pair
