"""A throwaway site on a real SQLite file (crashtest/harness/site.py), shared by the tests of
a busy database (test_db.py, test_jobs.py): migrating one takes seconds, so once per session."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from crashtest.harness.site import ThrowawaySite

# One attempt of a write waits this long for the lock (SQLite's busy timeout): a lock held longer
# than this fails a write that is not retried.
BUSY_TIMEOUT = 1


@pytest.fixture(scope="session")
def busy_site(tmp_path_factory) -> ThrowawaySite:
    site = ThrowawaySite(
        tmp_path_factory.mktemp("busy"),
        extra_env={
            "ASSAY_SQLITE_BUSY_TIMEOUT": str(BUSY_TIMEOUT),
            "ASSAY_BUSY_RETRY_SECONDS": "4",
            "ASSAY_JOB_LEASE_SECONDS": "5",
        },
    )
    site.migrate()
    yield site
    site.kill_all()


@contextlib.contextmanager
def write_lock(db: Path, release_after: float | None = None) -> Iterator[None]:
    """Another connection holds the database's write lock (BEGIN IMMEDIATE) for the block, or
    until `release_after` seconds have passed if given."""
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(release_after, holder.rollback) if release_after else None
    if timer:
        timer.start()
    try:
        yield
    finally:
        if timer:
            timer.join()
        else:
            holder.rollback()
        holder.close()
