"""Run names: validation, recurring prefixes (`daily_2026-11-23`) and their aliases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from core.exceptions import AssayError, NotFound
from results.models import TestResult, TestRun

RUN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+:=,-]{0,199}$")
RECURRING_RE = re.compile(r"^(?P<prefix>.+)_(?P<when>\d{4}-\d{2}-\d{2}|latest|today|yesterday)$")
ALIASES = ("latest", "today", "yesterday")


@dataclass(frozen=True)
class ParsedName:
    prefix: str
    run_date: date | None  # None for an alias


def parse_recurring(name: str) -> ParsedName | None:
    """`daily_2026-11-23` -> (daily, 2026-11-23); `daily_latest` -> (daily, None); else None."""
    match = RECURRING_RE.match(name)
    if not match or match["prefix"] not in settings.ASSAY_RECURRING_PREFIXES:
        return None
    when = match["when"]
    if when in ALIASES:
        return ParsedName(match["prefix"], None)
    try:
        return ParsedName(match["prefix"], date.fromisoformat(when))
    except ValueError:
        return None


def validate_run_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise AssayError("A run name is required.", code="run_required")
    if not RUN_NAME_RE.match(name):
        raise AssayError(
            f"{name[:80]!r} is not a valid run name: use letters, digits and _ . @ + : = , - "
            "(at most 200 characters, starting with a letter or digit).",
            code="bad_run_name",
        )
    return name


def today() -> date:
    return timezone.localdate()


def latest_allowed() -> date:
    """The last date a recurring run may have: tomorrow (a CI host ahead of the server's
    time zone), not later, or it would stay `<prefix>_latest` for everyone until then."""
    return today() + timedelta(days=1)


def refuse_ahead(name: str) -> str:
    """The name back, unless it is a recurring run dated after latest_allowed()."""
    parsed = parse_recurring(name)
    if parsed and parsed.run_date and parsed.run_date > latest_allowed():
        raise AssayError(
            f"{name} is dated {parsed.run_date}, more than a day after today ({today()} on "
            f"the server): recurring runs cannot be dated ahead, or {parsed.prefix}_latest "
            "would name it until then. Check the CI host's clock and date format.",
            code="run_date_ahead",
        )
    return name


def resolve_run_name(name: str, *, on: date | None = None) -> str:
    """Turn an alias into a real run name; other names come back unchanged.

    `<prefix>_today` and `<prefix>_yesterday` are dates in TIME_ZONE; `<prefix>_latest` is the
    newest existing run of that prefix (NotFound when there is none)."""
    name = validate_run_name(name)
    parsed = parse_recurring(name)
    if parsed is None or parsed.run_date is not None:
        return name
    when = name.rsplit("_", 1)[1]
    day = on or today()
    if when == "today":
        return f"{parsed.prefix}_{day.isoformat()}"
    if when == "yesterday":
        return f"{parsed.prefix}_{(day - timedelta(days=1)).isoformat()}"
    latest = (
        TestRun.objects.filter(  # runs dated ahead (imported before they were refused): never
            prefix=parsed.prefix, run_date__lte=latest_allowed(), deleted_at__isnull=True
        )
        .order_by("-run_date")
        .values_list("name", flat=True)
        .first()
    )
    if latest is None:
        raise NotFound(
            f"{name} names the newest {parsed.prefix}_YYYY-MM-DD run, and there is none yet.",
            code="no_such_run",
        )
    return latest


def get_run(name: str) -> TestRun:
    """The live run of that name (aliases allowed), or NotFound."""
    real = resolve_run_name(name)
    run = TestRun.objects.filter(name=real, deleted_at__isnull=True).first()
    if run is None:
        raise NotFound(f"There is no run named {real}.", code="no_such_run")
    return run


def get_or_create_run(name: str, *, lock: bool = False) -> tuple[TestRun, bool]:
    """The live run of that name, created if needed. Safe when several CI jobs report into a
    new run at once: the loser of the race on the unique name takes the winner's row. With
    lock, the row is locked until the transaction ends, so writes to one run serialize (their
    cached counts stay right) while writes to different runs go in parallel. A recurring run
    dated ahead is refused (refuse_ahead)."""
    real = refuse_ahead(resolve_run_name(name))
    live = TestRun.objects.filter(name=real, deleted_at__isnull=True)
    if lock:
        live = live.select_for_update()
    run = live.first()
    if run is not None:
        return run, False
    parsed = parse_recurring(real)
    try:
        with transaction.atomic():  # a savepoint: the race's loser carries on
            run = TestRun.objects.create(name=real, **_recurring_fields(parsed))
    except IntegrityError:
        return live.get(), False
    return run, True


SLOWEST_KEPT = 50  # a run's slowest results kept on it (TestRun.slowest)


def _recurring_fields(parsed: ParsedName | None) -> dict:
    """A recurring run is a build of the series `prefix` that started on its date (00:00
    UTC, as the migration set existing ones); other runs start when created (the import may
    say otherwise: results.services.builds)."""
    if parsed is None or parsed.run_date is None:
        return {}
    return {
        "prefix": parsed.prefix,
        "run_date": parsed.run_date,
        "series": parsed.prefix,
        "started_at": datetime.combine(parsed.run_date, time(), tzinfo=UTC),
    }


def refresh_counts(run: TestRun) -> dict[str, int]:
    """Recompute the cached counts per status of one run (one GROUP BY over its index), its
    total duration and slowest results (for the series' trends), and mark it for the search's
    job (results.services.search)."""
    rows = (
        TestResult.objects.filter(run=run).order_by().values_list("status").annotate(n=Count("id"))
    )
    counts = {status: n for status, n in rows}
    store_counts(run, counts, *run_durations(run))
    return counts


def store_counts(
    run: TestRun, counts: dict[str, int], duration: float | None, slowest: list[list]
) -> None:
    """Write a run's counts per status, total duration and slowest results (refresh_counts's,
    or what an import that created the run knows of its rows)."""
    now = timezone.now()
    TestRun.objects.filter(pk=run.pk).update(
        status_counts=counts,
        duration_total=duration,
        slowest=slowest,
        updated_at=now,
        search_pending=True,
    )
    # updated_at versions the caches of pages built from this run (results.selectors.browse)
    run.status_counts, run.duration_total, run.slowest = counts, duration, slowest
    run.updated_at = now


def run_durations(run: TestRun) -> tuple[float | None, list[list]]:
    """The sum of the run's durations and its SLOWEST_KEPT slowest results, in one pass over
    its rows (a window SUM beside the top of the sort)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT project_id, host, context, test_name, duration, SUM(duration) OVER () "  # noqa: S608
            f"FROM {TestResult._meta.db_table} WHERE run_id = %s AND duration IS NOT NULL "
            "ORDER BY duration DESC, test_name, project_id, host, context LIMIT %s",
            [run.pk, SLOWEST_KEPT],
        )
        rows = cursor.fetchall()
    if not rows:
        return None, []
    return rows[0][5], [list(row[:5]) for row in rows]
