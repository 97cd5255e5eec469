"""The bulk write of results: one prepared INSERT run by the driver's executemany (SQLite,
and PostgreSQL for upserts) or COPY (PostgreSQL, new runs).

Django's bulk_create compiles SQL per 66-row batch on SQLite (its 999-parameter limit) and
spent 85% of a 100,000-result import there; the driver's own loops are C and need none of it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import connection

from results.models import TestResult

COLUMNS = (
    "run_id", "project_id", "host", "context", "test_name", "status", "start_time", "end_time",
    "duration", "location", "test_runner", "log", "log_size", "tda", "tra", "imported_at",
    "retries", "message", "fingerprint",
)  # fmt: skip
_IDENTITY = ("run_id", "project_id", "host", "context", "test_name")
_TIMES = (COLUMNS.index("start_time"), COLUMNS.index("end_time"), COLUMNS.index("imported_at"))
_JSON = (COLUMNS.index("tda"), COLUMNS.index("tra"))

Row = tuple  # values in COLUMNS order; times as aware datetimes, tda/tra as dicts


def _sql(upsert: bool) -> str:
    table = connection.ops.quote_name(TestResult._meta.db_table)
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({placeholders})"  # noqa: S608
    if upsert:
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in _IDENTITY)
        sql += f" ON CONFLICT ({', '.join(_IDENTITY)}) DO UPDATE SET {updates}"
    return sql


def _sqlite_time(value: datetime) -> str:
    # What Django's SQLite backend stores for an aware datetime with USE_TZ: naive UTC text.
    # Its own adapter reads settings on every call (a third of an import's time).
    return str(value.astimezone(UTC).replace(tzinfo=None))


def _adapt(rows: Sequence[Row]) -> list[list]:
    """Times and JSON in the form the backend stores (what Django's fields would write)."""
    adapt_time = _sqlite_time if connection.vendor == "sqlite" else (lambda value: value)
    cache: dict[datetime, object] = {}  # imported_at is one value for the whole import
    out = []
    for row in rows:
        values = list(row)
        for i in _TIMES:
            value = values[i]
            if value is not None:
                adapted = cache.get(value)
                if adapted is None:
                    adapted = cache[value] = adapt_time(value)
                values[i] = adapted
        for i in _JSON:
            values[i] = json.dumps(values[i]) if values[i] else "{}"
        out.append(values)
    return out


def write_results(rows: Sequence[Row], *, upsert: bool) -> None:
    """Insert rows; with upsert, a row whose identity exists replaces it. Call in a transaction."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_postgresql(rows, upsert=upsert)
        return
    with connection.cursor() as cursor:
        cursor.executemany(_sql(upsert), _adapt(rows))


def _copy_postgresql(rows: Sequence[Row], *, upsert: bool) -> None:
    """COPY straight into the table; for an upsert, COPY into a temporary table and merge with
    one INSERT ... SELECT ... ON CONFLICT (3x faster than a per-row pipelined executemany)."""
    table = connection.ops.quote_name(TestResult._meta.db_table)
    columns = ", ".join(COLUMNS)
    tda, tra = _JSON
    with connection.cursor() as cursor:
        target = table
        if upsert:
            target = "assay_import_rows"
            cursor.execute(
                f"CREATE TEMPORARY TABLE {target} ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {columns} FROM {table} WITH NO DATA"
            )
        # psycopg 3's COPY adapts each value itself (times included); only JSON needs text.
        with cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = list(row)
                values[tda] = json.dumps(values[tda]) if values[tda] else "{}"
                values[tra] = json.dumps(values[tra]) if values[tra] else "{}"
                copy.write_row(values)
        if upsert:
            updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in _IDENTITY)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {target} "  # noqa: S608
                f"ON CONFLICT ({', '.join(_IDENTITY)}) DO UPDATE SET {updates}"
            )
            cursor.execute(f"DROP TABLE {target}")
