"""querygen's view of the embedded engines' errors (worker.error_status), on real errors."""

from __future__ import annotations

import sqlite3
import threading

import duckdb
import pytest

from querygen.engine.model import Status
from querygen.engine.worker import MEMORY, error_status, open_session

FOREVER = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r"


def test_sqlite_errors() -> None:
    conn = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.Error) as syntax:
        conn.execute("SELEC 1")
    assert error_status("sqlite", syntax.value) is Status.ERROR
    # An interrupt the session did not make (its own deadline is a TIMEOUT, decided by the
    # session before it asks) is the query's error, as it always was.
    conn.set_progress_handler(lambda: 1, 100)
    with pytest.raises(sqlite3.OperationalError) as interrupted:
        conn.execute(FOREVER).fetchall()
    assert error_status("sqlite", interrupted.value) is Status.ERROR


def test_sqlite_file_that_is_not_a_database_is_a_crash(tmp_path) -> None:
    path = tmp_path / "not.db"
    path.write_bytes(b"this is not a database file, not at all" * 100)
    with pytest.raises(sqlite3.DatabaseError) as raised:
        sqlite3.connect(path).execute("SELECT * FROM sqlite_master").fetchall()
    assert error_status("sqlite", raised.value) is Status.CRASH


def test_duckdb_errors() -> None:
    conn = duckdb.connect()
    with pytest.raises(duckdb.Error) as syntax:
        conn.execute("SELEC 1")
    assert error_status("duckdb", syntax.value) is Status.ERROR
    timer = threading.Timer(0.2, conn.interrupt)
    timer.start()
    with pytest.raises(duckdb.Error) as interrupted:
        conn.execute(FOREVER).fetchall()
    timer.join()
    assert error_status("duckdb", interrupted.value) is Status.ERROR
    internal = duckdb.InternalException("INTERNAL Error: Attempted to access index 7")
    assert error_status("duckdb", internal) is Status.CRASH


def test_an_in_memory_duckdb_runs_on_one_thread_and_keeps_it_after_a_reload() -> None:
    session = open_session("duckdb", MEMORY)
    try:
        threads = "SELECT current_setting('threads')"
        assert session.execute(threads, 5.0, 10).rows == [(1,)]
        assert session.load(["CREATE TABLE t (a INTEGER)", "INSERT INTO t VALUES (1)"], 5.0).ok
        session._reopen()  # as after an internal error: a new database, loaded again
        assert session.execute(threads, 5.0, 10).rows == [(1,)]
        assert session.execute("SELECT a FROM t", 5.0, 10).rows == [(1,)]
    finally:
        session.close()
