"""The embedded engines (SQLite, DuckDB), in this process or in a worker process.

``python -m querygen.engine.worker KIND LOCATION`` serves one database over JSON lines on
stdin/stdout, so that engines.IsolatedClient can run another interpreter's DuckDB (another
release, a private build) and survive it crashing. This module imports only the standard
library, the driver it is asked for (imported when needed), model.py and dbkinds (the facts of
each engine, standard library only), so that interpreter needs nothing else;
querygen/__init__.py and querygen/engine/__init__.py must stay free of imports for the same
reason. It avoids syntax newer than Python 3.8.

LOCATION ``:memory:`` (MEMORY) is a database of the session's own, in memory and writable,
which the "load" op fills: querygen's generated databases (database.py).

Protocol: after start the worker writes a hello line ``{"id": 0, "status": "ok", "rows":
[[version]]}`` (or status "error" and exits). Then, per request line ``{"id", "op", "sql",
"timeout", "max_rows"}`` with op "execute", "tables" or "version", or ``{"id", "op": "load",
"statements", "drop", "timeout"}``, one answer line ``{"id", "status", "columns", "rows", "error",
"seconds"}``. "tables" answers rows ``[table, column, engine type, SqlType value or null]``;
"version" answers ``[[version]]``; "load" answers no rows.
Values JSON cannot carry are tagged (see encode_value). EOF on stdin ends the worker.
"""

from __future__ import annotations

import abc
import base64
import contextlib
import datetime
import decimal
import json
import math
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, BinaryIO

import dbkinds
from dbkinds.base import ErrorKind
from querygen.engine.model import Outcome, SqlType, Status

__all__ = [
    "HOOKS_ENV",
    "KINDS",
    "MEMORY",
    "DuckDBSession",
    "EmbeddedSession",
    "SQLiteSession",
    "decode_value",
    "encode_value",
    "error_status",
    "open_session",
    "sql_type",
]

KINDS = ("sqlite", "duckdb")
MEMORY = ":memory:"
"""The location of a session's own in-memory database, filled by ``load``."""
HOOKS_ENV = "ASSAY_QUERYGEN_TEST_HOOKS"
"""When "1", the worker also obeys the test-only ops "crash" and "hang"."""
FETCH_BATCH = 1000


# --- types and errors, as querygen sees them -----------------------------------------------------

_STATUS = {
    ErrorKind.INTERNAL: Status.CRASH,
    ErrorKind.INTERRUPTED: Status.TIMEOUT,
    ErrorKind.ERROR: Status.ERROR,
}


def sql_type(kind: str, engine_type: str) -> SqlType | None:
    """The SqlType of a column the ``kind`` engine's catalog types ``engine_type``, or None:
    dbkinds knows the type's family, and the families are SqlType's values."""
    family = dbkinds.get(kind).type_family(engine_type)
    return SqlType(family) if family is not None else None


def error_status(kind: str, exc: BaseException) -> Status:
    """CRASH for the engine's internal errors, TIMEOUT for a statement the server cancelled,
    else ERROR (dbkinds classifies the driver's exception)."""
    db = dbkinds.get(kind)
    found = db.error_kind(exc)
    if found is ErrorKind.INTERRUPTED and db.EMBEDDED:
        # An embedded statement timed out only if its session's own deadline stopped it (the
        # sessions check that before asking here); any other interrupt is the query's error.
        return Status.ERROR
    return _STATUS[found]


# --- sessions -----------------------------------------------------------------------------------


class EmbeddedSession(abc.ABC):
    """One read-only connection to an embedded database, or (location MEMORY) a writable
    in-memory database of its own that ``load`` fills; one thread at a time."""

    kind = ""
    MEMORY_SETTINGS: tuple[str, ...] = ()  # run first on every new in-memory database

    def __init__(self, location: str) -> None:
        self.location = str(location)
        self._db = dbkinds.get(self.kind)
        self._setup: list[str] = []  # what load ran: run again on a new connection
        self._conn: Any = self._open()

    def _open(self) -> Any:
        if self.location != MEMORY:
            return self._db.connect(self.location, read_only=True)
        conn = self._db.connect(MEMORY, read_only=False)
        for sql in (*self.MEMORY_SETTINGS, *self._setup):
            conn.execute(sql)
        return conn

    def load(self, statements: list[str], timeout: float, drop: list[str] = ()) -> Outcome:
        """A new in-memory database made by ``statements`` (CREATE, INSERT, ...): ERROR or CRASH
        naming the statement that failed, and then the database is left empty. ``drop`` (DROP
        statements for what the last load made) empties the database faster than a new one
        (a new DuckDB database costs ~20 ms); if one fails, a new one it is."""
        if self.location != MEMORY:
            return Outcome(Status.ERROR, error=f"load needs location {MEMORY}")
        started = time.perf_counter()
        self._setup = []
        if not drop or any(not self.execute(sql, timeout, 0).ok for sql in drop):
            self._reopen()
        for number, sql in enumerate(statements, 1):
            outcome = self.execute(sql, timeout, 0)
            if outcome.status not in (Status.OK, Status.TOO_BIG):
                self._reopen()  # empty, not half loaded
                outcome.error = f"statement {number} of {len(statements)}: {outcome.error}"
                outcome.seconds = time.perf_counter() - started
                return outcome
        self._setup = list(statements)
        return Outcome(Status.OK, seconds=time.perf_counter() - started)

    def version(self) -> str:
        return str(self._db.version(self._conn))

    def catalog(self) -> list[tuple[str, str, str, SqlType | None]]:
        """(table, column, engine type, SqlType or None) for every column of every table."""
        return [
            (c.table, c.name, c.declared, sql_type(self.kind, c.declared))
            for c in self._db.catalog(self._conn)
        ]

    @abc.abstractmethod
    def execute(self, sql: str, timeout: float, max_rows: int) -> Outcome: ...

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _reopen(self) -> None:
        """After an internal error the connection (DuckDB: the database) may be unusable."""
        with contextlib.suppress(Exception):  # a broken connection may fail to close
            self.close()
        self._conn = self._open()

    def _fetch(self, cursor: Any, max_rows: int) -> tuple[list[tuple[Any, ...]], bool]:
        """Rows, and whether there were more than max_rows (then the rows are dropped).

        A batch shorter than asked for is the last one (DB-API fetchmany), so a small result
        takes one call."""
        rows: list[tuple[Any, ...]] = []
        size = max(1, min(FETCH_BATCH, max_rows + 1))
        while True:
            batch = cursor.fetchmany(size)
            if not batch:
                return rows, False
            if type(batch[0]) is tuple:  # both drivers' default rows: no copy needed
                rows.extend(batch)
            else:
                rows.extend(tuple(r) for r in batch)
            if len(rows) > max_rows:
                return [], True
            if len(batch) < size:
                return rows, False


class SQLiteSession(EmbeddedSession):
    kind = "sqlite"
    PROGRESS_OPS = 10_000  # VM instructions between deadline checks

    def execute(self, sql: str, timeout: float, max_rows: int) -> Outcome:
        import sqlite3

        deadline = time.monotonic() + timeout
        interrupted = []

        def progress() -> int:
            # A nonzero answer makes SQLite abandon the statement ("interrupted").
            if time.monotonic() > deadline:
                interrupted.append(True)
                return 1
            return 0

        started = time.perf_counter()
        conn = self._conn
        conn.set_progress_handler(progress, self.PROGRESS_OPS)
        cursor = None
        crashed = False
        try:
            cursor = conn.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            rows, too_big = self._fetch(cursor, max_rows)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            seconds = time.perf_counter() - started
            if interrupted:
                return Outcome(
                    Status.TIMEOUT, error=f"interrupted after {timeout:g}s", seconds=seconds
                )
            status = error_status(self.kind, exc)
            crashed = status == Status.CRASH
            return Outcome(status, error=str(exc), seconds=seconds)
        except Exception as exc:  # a value Python cannot build, say: the client's failure
            return _client_error(exc, started)
        finally:
            with contextlib.suppress(sqlite3.Error):
                if cursor is not None:
                    cursor.close()
                conn.set_progress_handler(None, 0)
            if crashed:
                self._reopen()  # corruption or an internal error: start from a clean handle
        seconds = time.perf_counter() - started
        if too_big:
            return Outcome(
                Status.TOO_BIG, columns, error=f"more than {max_rows} rows", seconds=seconds
            )
        return Outcome(Status.OK, columns, rows, seconds=seconds)


class DuckDBSession(EmbeddedSession):
    kind = "duckdb"
    # Tables of a dozen rows never fill a second thread, and handing work to one costs ~15%
    # of a generated query's time (measured with benchmarks/querygen.py).
    MEMORY_SETTINGS = ("SET threads = 1",)
    _watchdog: _Watchdog | None = None

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None
        super().close()

    def _interrupt(self) -> None:
        if self._conn is not None:
            self._conn.interrupt()

    def execute(self, sql: str, timeout: float, max_rows: int) -> Outcome:
        import duckdb

        conn = self._conn
        if self._watchdog is None:
            self._watchdog = _Watchdog(self._interrupt)
        watchdog = self._watchdog
        started = time.perf_counter()
        watchdog.arm(timeout)
        try:
            conn.execute(sql)
            columns = [d[0] for d in conn.description or ()]
            # Results stream: fetchmany never holds more than max_rows + a batch in Python.
            rows, too_big = self._fetch(conn, max_rows)
        except duckdb.Error as exc:
            seconds = time.perf_counter() - started
            if watchdog.disarm():
                return Outcome(
                    Status.TIMEOUT, error=f"interrupted after {timeout:g}s", seconds=seconds
                )
            status = error_status(self.kind, exc)
            if status == Status.CRASH:
                self._reopen()  # DuckDB invalidates the database after an internal error
            return Outcome(status, error=str(exc), seconds=seconds)
        except Exception as exc:  # a DuckDB value Python cannot build (a date past year 9999)
            return _client_error(exc, started)
        finally:
            watchdog.disarm()
        seconds = time.perf_counter() - started
        if too_big:
            return Outcome(
                Status.TOO_BIG, columns, error=f"more than {max_rows} rows", seconds=seconds
            )
        return Outcome(Status.OK, columns, rows, seconds=seconds)


class _Watchdog:
    """One thread per DuckDB session that interrupts the running query at its deadline.

    Cheaper than a timer per query (starting a thread costs about half a millisecond, as much
    as a small query): the thread sleeps until the deadline of the query running when it last
    looked, and is woken only when a query's deadline comes before that (or it went idle).
    ``arm`` and ``disarm`` bracket a query; the interrupt is sent under the lock ``disarm``
    takes, so it never reaches the next query.
    """

    def __init__(self, interrupt: Callable[[], None]) -> None:
        self._interrupt = interrupt
        self._cond = threading.Condition()
        self._deadline: float | None = None  # time.monotonic() of the running query's end
        self._query = 0  # the number of the running (or last) query
        self._fired = -1  # the number of the query last interrupted
        self._wakes_at: float | None = None  # when the thread looks again; None: when woken
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="duckdb-watchdog", daemon=True)
        self._thread.start()

    def arm(self, timeout: float) -> None:
        with self._cond:
            self._query += 1
            self._deadline = time.monotonic() + timeout
            if self._wakes_at is None or self._deadline < self._wakes_at:
                self._cond.notify()

    def disarm(self) -> bool:
        """End the query; whether it was interrupted."""
        with self._cond:
            self._deadline = None
            return self._fired == self._query

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._deadline is None:
                    self._wakes_at = None
                    self._cond.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._wakes_at = self._deadline
                    self._cond.wait(remaining)
                    continue
                self._fired, self._deadline = self._query, None
                with contextlib.suppress(Exception):  # a connection closing meanwhile
                    self._interrupt()


def _client_error(exc: BaseException, started: float) -> Outcome:
    return Outcome(
        Status.ERROR,
        error=f"client: {type(exc).__name__}: {exc}",
        seconds=time.perf_counter() - started,
    )


def open_session(kind: str, location: str) -> EmbeddedSession:
    if kind == "sqlite":
        return SQLiteSession(location)
    if kind == "duckdb":
        return DuckDBSession(location)
    raise ValueError(f"unknown embedded engine {kind!r}; expected one of {KINDS}")


# --- values on the wire -------------------------------------------------------------------------


def encode_value(value: Any) -> Any:
    """A result value as JSON; what JSON cannot carry becomes ``{"$": tag, "v": ...}``.

    Every JSON object on the wire is such a tag (dicts are tagged too), so none is ambiguous.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
    if isinstance(value, decimal.Decimal):
        return {"$": "decimal", "v": str(value)}
    if isinstance(value, datetime.datetime):  # before date: a datetime is a date
        return {"$": "datetime", "v": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$": "date", "v": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"$": "time", "v": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"$": "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$": "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, uuid.UUID):
        return {"$": "uuid", "v": str(value)}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, tuple):
        return {"$": "tuple", "v": [encode_value(v) for v in value]}
    if isinstance(value, dict):
        return {"$": "dict", "v": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    return {"$": "repr", "v": f"<{type(value).__name__} {value!r}>"}


def _decode_dict(pairs: list[Any]) -> dict[Any, Any]:
    return {_hashable(decode_value(k)): decode_value(v) for k, v in pairs}


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "float": float,
    "decimal": decimal.Decimal,
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
    "timedelta": lambda v: datetime.timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
    "bytes": lambda v: base64.b64decode(v),
    "uuid": uuid.UUID,
    "tuple": lambda v: tuple(decode_value(x) for x in v),
    "dict": _decode_dict,
    "repr": str,  # a type this module does not know: shown, not compared faithfully
}


def decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if isinstance(value, dict):
        return _DECODERS[value["$"]](value["v"])
    return value


def outcome_message(request_id: Any, outcome: Outcome) -> dict[str, Any]:
    return {
        "id": request_id,
        "status": outcome.status.value,
        "columns": list(outcome.columns),
        "rows": [[encode_value(v) for v in row] for row in outcome.rows],
        "error": outcome.error,
        "seconds": outcome.seconds,
    }


def message_outcome(message: dict[str, Any]) -> Outcome:
    return Outcome(
        Status(message["status"]),
        list(message.get("columns") or []),
        [tuple(decode_value(v) for v in row) for row in message.get("rows") or []],
        str(message.get("error") or ""),
        float(message.get("seconds") or 0.0),
    )


# --- the worker process -------------------------------------------------------------------------


def _answer(session: EmbeddedSession, request: dict[str, Any], hooks: bool) -> Outcome:
    op = request.get("op")
    if op == "execute":
        return session.execute(
            str(request["sql"]),
            float(request.get("timeout", 10.0)),
            int(request.get("max_rows", 10_000)),
        )
    if op == "tables":
        rows = [(t, c, d, s.value if s else None) for t, c, d, s in session.catalog()]
        return Outcome(Status.OK, ["table", "column", "engine_type", "type"], rows)
    if op == "version":
        return Outcome(Status.OK, ["version"], [(session.version(),)])
    if op == "load":
        return session.load(
            [str(sql) for sql in request.get("statements") or []],
            float(request.get("timeout", 10.0)),
            [str(sql) for sql in request.get("drop") or []],
        )
    if hooks and op == "crash":
        _crash(str(request.get("how", "abort")), int(request.get("code", 3)))
    if hooks and op == "hang":
        time.sleep(float(request.get("seconds", 3600)))
        return Outcome(Status.OK)
    return Outcome(Status.ERROR, error=f"unknown op {op!r}")


def _crash(how: str, code: int) -> None:
    if how == "exit":
        os._exit(code)
    try:  # no core file in the working directory for a deliberate abort
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    os.abort()


def _send(out: BinaryIO, message: dict[str, Any]) -> None:
    # ASCII JSON: one line per message whatever the strings hold.
    out.write(json.dumps(message, allow_nan=False).encode("ascii") + b"\n")
    out.flush()


def serve(kind: str, location: str, stdin: BinaryIO, out: BinaryIO) -> int:
    hooks = os.environ.get(HOOKS_ENV) == "1"
    try:
        session = open_session(kind, location)
        hello = Outcome(Status.OK, ["version"], [(session.version(),)])
    except Exception as exc:
        _send(out, outcome_message(0, Outcome(Status.ERROR, error=f"{type(exc).__name__}: {exc}")))
        return 2
    _send(out, outcome_message(0, hello))
    try:
        for line in stdin:
            try:
                request = json.loads(line)
                request_id = request.get("id")
            except (ValueError, AttributeError) as exc:
                _send(
                    out, outcome_message(None, Outcome(Status.ERROR, error=f"bad request: {exc}"))
                )
                continue
            try:
                outcome = _answer(session, request, hooks)
            except Exception as exc:  # catalog or version failed: the answer says so
                outcome = Outcome(Status.ERROR, error=f"{type(exc).__name__}: {exc}")
            _send(out, outcome_message(request_id, outcome))
    finally:
        session.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in KINDS:
        print(
            f"usage: python -m querygen.engine.worker {{{'|'.join(KINDS)}}} LOCATION",
            file=sys.stderr,
        )
        return 2
    # The protocol owns the real stdout; anything the driver prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return serve(args[0], args[1], sys.stdin.buffer, out)


if __name__ == "__main__":
    sys.exit(main())
