"""The bulk write of results: one prepared INSERT run by the driver's executemany (SQLite,
and PostgreSQL for upserts) or COPY (PostgreSQL, new runs).

Django's bulk_create compiles SQL per 66-row batch on SQLite (its 999-parameter limit) and
spent 85% of a 100,000-result import there; the driver's own loops are C and need none of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring_ascii

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

Row = tuple  # values in COLUMNS order; times as aware datetimes, tda/tra as dicts (or formatted)


def _sql(upsert: bool) -> str:
    table = connection.ops.quote_name(TestResult._meta.db_table)
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({placeholders})"  # noqa: S608
    if upsert:
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in _IDENTITY)
        sql += f" ON CONFLICT ({', '.join(_IDENTITY)}) DO UPDATE SET {updates}"
    return sql


def _sqlite_time(value: datetime | None) -> str | None:
    # What Django's SQLite backend stores for an aware datetime with USE_TZ: naive UTC text.
    # Its own adapter reads settings on every call (a third of an import's time).
    if value is None:
        return None
    if value.tzinfo is UTC:  # the parsers' times: one call, "+00:00" cut off
        return value.isoformat(" ")[:-6]
    return str(value.astimezone(UTC).replace(tzinfo=None))


def _same(value: datetime | None) -> datetime | None:
    return value  # psycopg adapts datetimes itself, in C


def _not_json(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# json.dumps's own C encoder, made once: dumps makes one per call, which was most of the cost
# of the small dicts written twice per result. Same text as json.dumps (and Django's field).
_c_encoder = c_make_encoder and c_make_encoder(
    None, _not_json, encode_basestring_ascii, None, ": ", ", ", False, False, True
)


def _json(value: dict) -> str:
    if not value:
        return "{}"
    if _c_encoder is None:  # an interpreter without the C accelerator
        return json.dumps(value)
    return "".join(_c_encoder(value, 0))


def formats() -> tuple[Callable[[datetime | None], object], Callable[[dict], str]]:
    """(time, json): what a row's times and its tda/tra are made into for this database's
    bulk write, to build rows that write_results(..., formatted=True) takes as they are."""
    return (_sqlite_time if connection.vendor == "sqlite" else _same), _json


def _formatted(rows: Sequence[Row]) -> list[list]:
    time, to_json = formats()
    out = []
    for row in rows:
        values = list(row)
        for i in _TIMES:
            values[i] = time(values[i])
        for i in _JSON:
            values[i] = to_json(values[i])
        out.append(values)
    return out


def write_results(rows: Sequence[Row], *, upsert: bool, formatted: bool = False) -> None:
    """Insert rows; with upsert, a row whose identity exists replaces it. Call in a transaction.
    `formatted`: the rows' times and JSON are already as formats() makes them."""
    if not rows:
        return
    if not formatted:
        rows = _formatted(rows)
    if connection.vendor == "postgresql":
        _copy_postgresql(rows, upsert=upsert)
        return
    with connection.cursor() as cursor:
        cursor.executemany(_sql(upsert), rows)


def _copy_postgresql(rows: Sequence[Row], *, upsert: bool) -> None:
    """COPY straight into the table; for an upsert, COPY into a temporary table and merge with
    one INSERT ... SELECT ... ON CONFLICT (3x faster than a per-row pipelined executemany)."""
    table = connection.ops.quote_name(TestResult._meta.db_table)
    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        target = table
        if upsert:
            target = "assay_import_rows"
            cursor.execute(
                f"CREATE TEMPORARY TABLE {target} ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {columns} FROM {table} WITH NO DATA"
            )
        # psycopg 3's COPY adapts each value itself, in C (times included).
        with cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)
        if upsert:
            updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in _IDENTITY)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {target} "  # noqa: S608
                f"ON CONFLICT ({', '.join(_IDENTITY)}) DO UPDATE SET {updates}"
            )
            cursor.execute(f"DROP TABLE {target}")
