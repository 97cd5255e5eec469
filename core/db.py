"""A busy database, retried: SQLite's "database is locked" is a wait, not an error.

SQLite lets one writer at a time. A write that meets another writer's lock waits for it (the
connection's busy timeout, config/settings.py) and then fails with OperationalError "database
is locked". `retry_on_busy` runs a write again with backoff for a bounded time; once the
budget is spent it raises `DatabaseBusy`, which the API and the pages answer with 503 and
Retry-After (core/exceptions.py, core/middleware.py), never a 500.

Retrying is only safe for a call whose writes all rolled back: a call that is one transaction
(its outermost atomic block). So a retry is refused inside an atomic block: the caller's own
transaction is broken by the error and only it can be retried.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import OperationalError, connection

from core.exceptions import DatabaseBusy, busy_detail, is_busy

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

_FIRST_PAUSE = 0.05
_LONGEST_PAUSE = 1.0


def _set_busy_timeout(seconds: float) -> None:
    """SQLite's own wait for the lock, for the next statements of this connection: an attempt
    waits at most what is left of the budget."""
    if connection.vendor != "sqlite":
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {max(1, int(seconds * 1000))}")


def retry_on_busy(fn: Callable[[], T], *, seconds: float | None = None) -> T:
    """fn(), run again while it fails on a busy database, for at most `seconds` in all
    (ASSAY_BUSY_RETRY_SECONDS by default) with a growing pause between attempts; then
    DatabaseBusy. fn must be one transaction (or autocommit writes that may be repeated): it
    is run again from the start."""
    budget = settings.ASSAY_BUSY_RETRY_SECONDS if seconds is None else seconds
    if connection.in_atomic_block:
        return fn()  # the enclosing transaction is the unit to retry, not this call
    deadline = time.monotonic() + budget
    pause = _FIRST_PAUSE
    attempt = 0
    usual = _configured_timeout()
    try:
        while True:
            attempt += 1
            left = deadline - time.monotonic()
            _set_busy_timeout(min(usual, max(left, 0.001)))
            try:
                return fn()
            except OperationalError as exc:
                if not is_busy(exc):
                    raise
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("database still busy after %d attempt(s): %s", attempt, exc)
                    raise DatabaseBusy(busy_detail()) from exc
                # Jitter: two writers that met once do not meet again at the same instant.
                time.sleep(min(pause * (1 + random.random()), left))  # noqa: S311
                pause = min(pause * 2, _LONGEST_PAUSE)
    finally:
        if connection.vendor == "sqlite" and connection.connection is not None:
            _set_busy_timeout(usual)


def _configured_timeout() -> float:
    return float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5))


def busy_retried(
    fn: Callable[P, T] | None = None, *, seconds: float | None = None
) -> Callable[P, T] | Callable[[Callable[P, T]], Callable[P, T]]:
    """retry_on_busy as a decorator, for a function that is one transaction or whose writes
    may be repeated (a schedule's task, the job runner's fenced UPDATEs)."""

    def wrap(func: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return retry_on_busy(lambda: func(*args, **kwargs), seconds=seconds)

        return wrapper

    return wrap(fn) if fn is not None else wrap
