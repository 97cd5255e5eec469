"""The engines queries run on: SQLite, DuckDB and PostgreSQL in this process, and SQLite or
DuckDB in another interpreter (IsolatedClient), to test another build and survive its crashes.

Every engine opens its database read-only where the engine allows it, so no query can change
the reference data; only ``load`` writes, into a database of the engine's own (an embedded
engine's in memory, a PostgreSQL engine's schema). ``execute`` never raises for a problem of
the query: it answers an Outcome (OK, ERROR with the engine's message, CRASH for an internal
error or a dead process, TIMEOUT after interrupting the query, TOO_BIG past ``max_rows``) and
the engine stays usable.
Constructors raise EngineError when the database cannot be opened. One thread at a time.
"""

from __future__ import annotations

import abc
import collections
import contextlib
import datetime
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, TypeVar

import psycopg
from psycopg.conninfo import make_conninfo

from dbkinds import postgresql
from querygen.engine import worker
from querygen.engine.model import Column, Outcome, SqlType, Status, Table

__all__ = [
    "CatalogColumn",
    "DuckDBClient",
    "EngineClient",
    "EngineError",
    "IsolatedClient",
    "PostgresClient",
    "SQLiteClient",
]

# The directory holding the querygen and dbkinds packages: the worker's cwd and PYTHONPATH.
_SOURCE_ROOT = Path(__file__).resolve().parents[2]
_T = TypeVar("_T")


class EngineError(Exception):
    """The engine could not be opened or reached (never a query's own failure)."""


@dataclass(frozen=True)
class CatalogColumn:
    """One column as the engine's catalog describes it; ``type`` None: not tested."""

    table: str
    column: str
    engine_type: str
    type: SqlType | None


class EngineClient(abc.ABC):
    """One database to run queries on; see the module docstring for what execute promises."""

    name: str  # for reports and logs; never holds a password
    dialect: str  # sqlglot's dialect name: "sqlite", "duckdb" or "postgres"

    @abc.abstractmethod
    def version(self) -> str: ...

    @abc.abstractmethod
    def execute(self, sql: str, *, timeout: float = 10.0, max_rows: int = 10_000) -> Outcome: ...

    def load(
        self, statements: list[str], *, timeout: float = 10.0, drop: list[str] | None = None
    ) -> Outcome:
        """Replace the engine's database with a new one that ``statements`` (CREATE, INSERT)
        make: querygen's generated databases. ``drop`` drops what the last load made (faster
        than a new database). Embedded engines opened on ``worker.MEMORY`` and PostgreSQL
        engines (in a schema of their own) can; all statements or none (an ERROR naming the
        statement number)."""
        return Outcome(Status.ERROR, error=f"{self.name} cannot load a generated database")

    @abc.abstractmethod
    def catalog(self) -> list[CatalogColumn]:
        """Every column of every base table in the current schema, tables sorted by name and
        columns in their order; datagen's ledger table assay_loaded_chunks is left out."""

    def tables(self) -> list[Table]:
        """The catalog's tables with the columns whose types map to a SqlType; tables left
        without a column are dropped."""
        columns: dict[str, list[Column]] = {}
        for c in self.catalog():
            if c.type is not None:
                columns.setdefault(c.table, []).append(Column(c.column, c.type))
        return [Table(name, tuple(cols)) for name, cols in columns.items()]

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def _check_limits(timeout: float, max_rows: int) -> None:
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    if max_rows < 0:
        raise ValueError(f"max_rows must be >= 0, not {max_rows!r}")


def _catalog(rows: list[tuple[str, str, str, SqlType | None]]) -> list[CatalogColumn]:
    return [CatalogColumn(t, c, d, s) for t, c, d, s in rows]


# --- embedded engines, in this process ----------------------------------------------------------


class _EmbeddedClient(EngineClient):
    """SQLite or DuckDB through worker.py's sessions: the code an IsolatedClient runs too."""

    kind: Literal["sqlite", "duckdb"]

    def __init__(self, path: str | os.PathLike[str], *, name: str | None = None) -> None:
        self.path = str(path)
        self.dialect = self.kind
        self.name = name or f"{self.kind}:{Path(self.path).name}"
        try:
            self._session: worker.EmbeddedSession | None = worker.open_session(self.kind, self.path)
        except Exception as exc:  # the driver's own exception types
            raise EngineError(f"cannot open {self.kind} database {self.path}: {exc}") from exc

    def _live(self) -> worker.EmbeddedSession:
        if self._session is None:
            raise EngineError(f"{self.name} is closed")
        return self._session

    def version(self) -> str:
        return self._live().version()

    def execute(self, sql: str, *, timeout: float = 10.0, max_rows: int = 10_000) -> Outcome:
        _check_limits(timeout, max_rows)
        return self._live().execute(sql, timeout, max_rows)

    def load(
        self, statements: list[str], *, timeout: float = 10.0, drop: list[str] | None = None
    ) -> Outcome:
        return self._live().load(list(statements), timeout, list(drop or []))

    def catalog(self) -> list[CatalogColumn]:
        return _catalog(self._live().catalog())

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


class SQLiteClient(_EmbeddedClient):
    """A SQLite file opened with ``mode=ro`` and ``query_only``; timeouts through a progress
    handler."""

    kind = "sqlite"


class DuckDBClient(_EmbeddedClient):
    """A DuckDB file opened ``read_only``; timeouts through ``interrupt()`` from a timer."""

    kind = "duckdb"


# --- PostgreSQL ---------------------------------------------------------------------------------

_PG = "postgresql"  # the dbkinds kind of PostgresClient
_APPLICATION_NAME = "assay-querygen"
# The schemas generated databases are loaded into: recognisable by name, and by a comment that
# says when the last load happened, so that what a crashed run left behind can be told apart.
SCHEMA_PREFIX = "assay_qg_"
_SCHEMA_COMMENT = "assay querygen: generated databases, last loaded "
STALE_SCHEMA_SECONDS = 24 * 3600  # a run loads every few seconds: a day without one is dead
_INSUFFICIENT_PRIVILEGE = "42501"
_CLOSE_TIMEOUT_MS = 10_000


class PostgresClient(EngineClient):
    """A PostgreSQL database through psycopg 3.

    Every query runs alone in a ``BEGIN READ ONLY`` transaction that is rolled back after it,
    with ``SET LOCAL statement_timeout``: not even a query that SETs something can change
    what the next one sees. Rows are streamed, so a huge result is never held in memory.
    ``conninfo`` (key=value or URL) may carry a password: it is kept for reconnecting and never
    shown in ``repr()``, ``name`` or messages. A lost connection (the server or the backend
    crashed) is a CRASH; the next query reconnects.

    ``load`` (querygen's generated databases) writes into a schema of the engine's own,
    ``schema`` (``assay_qg_<random hex>``; the user needs CREATE on the database): made on the
    first load, dropped and made again by each load in one committed READ WRITE transaction,
    and dropped by ``close``. Once a load committed, queries (and ``catalog``) see that schema
    alone (``search_path``, set on every connection, a reconnection's too). The first load also
    drops this user's ``assay_qg_`` schemas that no load touched for a day (a crashed run's).
    """

    dialect = "postgres"

    def __init__(self, conninfo: str, *, name: str | None = None) -> None:
        self._conninfo = conninfo
        try:
            params = postgresql.conninfo_params(conninfo)
        except ValueError as exc:
            raise EngineError(str(exc)) from None
        self._password = str(params.pop("password", "") or "")
        self.described = postgresql.describe(conninfo)
        self.name = name or f"postgres:{params.get('dbname') or params.get('user') or ''}"
        # Random: two runs (or a run and a replay) on one database must never share it.
        self.schema = f"{SCHEMA_PREFIX}{secrets.token_hex(8)}"
        self._made_schema = False  # a load tried to make it: close drops it
        self._loaded = False  # a load committed: every connection searches the schema
        self._conn: psycopg.Connection[Any] | None = None
        self._connect()

    def __repr__(self) -> str:
        return f"<PostgresClient {self.described!r}>"

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text

    def loaded_conninfo(self) -> str:
        """A conninfo whose connections see the generated databases this engine loads (its
        ``schema`` on the search path), for the plan oracle's connections planning under
        other settings. It holds the password: never show it."""
        return _with_search_path(self._conninfo, self.schema)

    def _connect(self) -> psycopg.Connection[Any]:
        base = self.loaded_conninfo() if self._loaded else self._conninfo
        conninfo = make_conninfo(base, application_name=_APPLICATION_NAME)
        try:
            # Every transaction READ ONLY, autocommit off: each query runs alone and is rolled
            # back (see execute).
            conn = postgresql.connect(conninfo, read_only=True)
        except psycopg.Error as exc:
            raise EngineError(
                f"cannot connect to PostgreSQL ({self.described}): {self._scrub(str(exc))}"
            ) from None
        self._conn = conn
        return conn

    def _live(self) -> psycopg.Connection[Any]:
        return self._conn if self._conn is not None else self._connect()

    def _read(self, read: Callable[[psycopg.Connection[Any]], _T]) -> _T:
        """What ``read`` answers on the connection, in a transaction rolled back after it."""
        conn = self._live()
        try:
            return read(conn)
        except psycopg.Error as exc:
            raise EngineError(f"{self.name}: {self._scrub(str(exc))}") from None
        finally:
            self._end_transaction()

    def version(self) -> str:
        return self._read(postgresql.version)

    def catalog(self) -> list[CatalogColumn]:
        return [
            CatalogColumn(c.table, c.name, c.declared, worker.sql_type(_PG, c.declared))
            for c in self._read(postgresql.catalog)
        ]

    def execute(self, sql: str, *, timeout: float = 10.0, max_rows: int = 10_000) -> Outcome:
        _check_limits(timeout, max_rows)
        started = time.perf_counter()
        try:
            conn = self._live()
        except EngineError as exc:  # the server may still be recovering from a crash
            return Outcome(Status.CRASH, error=str(exc), seconds=time.perf_counter() - started)
        rows: list[tuple[Any, ...]] = []
        too_big = False
        try:
            ms = max(1, round(timeout * 1000))
            conn.execute(f"SET LOCAL statement_timeout = {ms:d}")
            cursor = conn.cursor()
            # Single-row or chunked mode; leaving the stream early cancels the query.
            size = max(1, min(worker.FETCH_BATCH, max_rows + 1)) if _chunked_mode() else 1
            stream = cursor.stream(sql, size=size)
            try:
                for row in stream:
                    rows.append(tuple(row))
                    if len(rows) > max_rows:
                        too_big = True
                        break
            finally:
                stream.close()
            if cursor.description is not None:
                columns = [d.name for d in cursor.description]
            else:  # psycopg keeps no description of an empty result: ask the server for it
                columns = _describe(conn, sql)
        except psycopg.ProgrammingError as exc:
            if _NO_RESULT not in str(exc):
                return self._failed(exc, started)
            columns = []  # a command (SET, DO, ...) that answers no rows at all
        except psycopg.Error as exc:
            return self._failed(exc, started)
        except Exception as exc:  # a value Python cannot build, say
            return Outcome(
                Status.ERROR,
                error=f"client: {type(exc).__name__}: {exc}",
                seconds=time.perf_counter() - started,
            )
        finally:
            self._end_transaction()
        seconds = time.perf_counter() - started
        if too_big:
            return Outcome(
                Status.TOO_BIG, columns, error=f"more than {max_rows} rows", seconds=seconds
            )
        return Outcome(Status.OK, columns, rows, seconds=seconds)

    def load(
        self, statements: list[str], *, timeout: float = 10.0, drop: list[str] | None = None
    ) -> Outcome:
        """The engine's schema made again with ``statements`` in it, in one transaction: all
        or none (a refused statement leaves the last database as it was). ``drop`` is not
        needed: DROP SCHEMA ... CASCADE takes whatever the last load made."""
        _check_limits(timeout, 0)
        started = time.perf_counter()
        try:
            if not self._made_schema:
                self._made_schema = True
                self._drop_stale_schemas(self._live())
            conn = self._live()  # a new one if the old one was lost meanwhile
        except EngineError as exc:
            return Outcome(Status.CRASH, error=str(exc), seconds=time.perf_counter() - started)
        ms = max(1, round(timeout * 1000))
        schema = postgresql.quote(self.schema)
        loaded_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        setup = [
            f"SET LOCAL statement_timeout = {ms:d}",
            f"SET LOCAL lock_timeout = {ms:d}",
            f"DROP SCHEMA IF EXISTS {schema} CASCADE",
            f"CREATE SCHEMA {schema}",
            f"COMMENT ON SCHEMA {schema} IS '{_SCHEMA_COMMENT}{loaded_at}'",
            # Not LOCAL: committed, the session keeps it (a rollback restores the last one).
            f"SET search_path TO {schema}",
        ]
        done, error = self._write(conn, [*setup, *statements])
        if error is None:
            self._loaded = True
            return Outcome(Status.OK, seconds=time.perf_counter() - started)
        outcome = self._failed(error, started)
        number = done + 1 - len(setup)
        if number >= 1:
            outcome.error = f"statement {number} of {len(statements)}: {outcome.error}"
        elif error.sqlstate == _INSUFFICIENT_PRIVILEGE:
            user, dbname = self._who()
            outcome.error = (
                f"{self.name}: permission denied to create the schema of querygen's generated "
                f"databases: grant the user CREATE on the database (GRANT CREATE ON DATABASE "
                f"{dbname} TO {user}), or test the engine's own tables with the profile "
                '{"data": "dataset"}'
            )
        else:
            outcome.error = f"cannot make the schema {self.schema}: {outcome.error}"
        return outcome

    def _write(
        self, conn: psycopg.Connection[Any], statements: Sequence[str]
    ) -> tuple[int, psycopg.Error | None]:
        """``statements`` in one READ WRITE transaction (the connection's others are READ
        ONLY), committed when every one succeeded, else rolled back: how many succeeded, and
        the error that stopped them."""
        done = 0
        try:
            conn.read_only = False
            for sql in statements:
                conn.execute(sql)  # no parameters: a "%" in a value is no placeholder
                done += 1
            conn.commit()
        except psycopg.Error as exc:
            self._end_transaction()
            return done, exc
        finally:
            self._read_only_again(conn)
        return done, None

    def _read_only_again(self, conn: psycopg.Connection[Any]) -> None:
        if self._conn is not conn or conn.closed:
            return
        try:
            conn.read_only = True
        except psycopg.Error:
            self._drop_connection()  # a connection that may write must not run queries

    def _who(self) -> tuple[str, str]:
        """The connection's user and database, as SQL names (for advice to paste)."""
        if self._conn is None:
            return "<user>", "<database>"
        info = self._conn.info
        return _sql_name(info.user), _sql_name(info.dbname)

    def _drop_stale_schemas(self, conn: psycopg.Connection[Any]) -> None:
        """Drop this user's assay_qg_ schemas that no load touched for STALE_SCHEMA_SECONDS:
        a crashed run's. Best effort: one still in use, or refused, is left alone."""
        try:
            rows = conn.execute(
                "SELECT nspname, obj_description(oid, 'pg_namespace') FROM pg_namespace "
                r"WHERE nspname LIKE 'assay\_qg\_%' AND pg_get_userbyid(nspowner) = current_user"
            ).fetchall()
        except psycopg.Error:
            return
        finally:
            self._end_transaction()
        now = datetime.datetime.now(datetime.UTC)
        for name, comment in rows:
            if self._conn is not conn:
                return  # the connection was lost: the load will say so
            loaded = _loaded_at(comment)
            if name == self.schema or loaded is None:
                continue  # no comment an engine writes: not ours to drop
            if (now - loaded).total_seconds() < STALE_SCHEMA_SECONDS:
                continue
            self._write(
                conn,
                [
                    "SET LOCAL lock_timeout = 1000",  # in use after all: leave it
                    f"DROP SCHEMA IF EXISTS {postgresql.quote(name)} CASCADE",
                ],
            )

    def _drop_schema(self) -> None:
        """Drop the schema loads made, on the engine's connection or (lost) a new one. Best
        effort: one left behind (the server gone) goes with a later engine's stale ones."""
        for _attempt in range(2):
            try:
                conn = self._live()
            except EngineError:
                return
            _, error = self._write(
                conn,
                [
                    f"SET LOCAL statement_timeout = {_CLOSE_TIMEOUT_MS:d}",
                    f"SET LOCAL lock_timeout = {_CLOSE_TIMEOUT_MS:d}",
                    f"DROP SCHEMA IF EXISTS {postgresql.quote(self.schema)} CASCADE",
                ],
            )
            if error is None or self._conn is conn:
                return  # dropped, or refused on a live connection: no second try

    def _failed(self, exc: psycopg.Error, started: float) -> Outcome:
        sqlstate = exc.sqlstate or ""
        message = self._scrub(str(exc).strip())
        seconds = time.perf_counter() - started
        if self._conn is None or self._conn.broken:
            self._drop_connection()
            return Outcome(Status.CRASH, error=f"connection lost: {message}", seconds=seconds)
        return Outcome(
            worker.error_status(_PG, exc),
            error=f"{sqlstate}: {message}" if sqlstate else message,
            seconds=seconds,
        )

    def _end_transaction(self) -> None:
        if self._conn is None or self._conn.closed:
            return
        try:
            self._conn.rollback()
        except psycopg.Error:
            self._drop_connection()  # reconnect for the next query

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def close(self) -> None:
        if self._made_schema:
            self._made_schema = False
            self._drop_schema()
        self._loaded = False
        self._drop_connection()


def _with_search_path(conninfo: str, schema: str) -> str:
    """``conninfo`` whose connections search ``schema`` alone (after any options it has)."""
    params = postgresql.conninfo_params(conninfo)
    # A generated name (letters, digits, _): nothing to escape in libpq's options.
    options = " ".join(p for p in (params.get("options", ""), f"-c search_path={schema}") if p)
    return make_conninfo(conninfo, options=options)


def _sql_name(name: str) -> str:
    """A name as it is written in SQL: quoted unless it needs no quotes."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else postgresql.quote(name)


def _loaded_at(comment: str | None) -> datetime.datetime | None:
    """When the load that wrote a schema's comment happened; None: not an engine's comment."""
    if not comment or not comment.startswith(_SCHEMA_COMMENT):
        return None
    try:
        moment = datetime.datetime.fromisoformat(comment.removeprefix(_SCHEMA_COMMENT))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


# What psycopg's stream() raises for a statement that returns no result set (psycopg 3.1+).
_NO_RESULT = "didn't produce a result"


def _describe(conn: psycopg.Connection[Any], sql: str) -> list[str]:
    """The column names of ``sql``, from the server's description of it (not run again)."""
    pgconn = conn.pgconn
    encoding = conn.info.encoding
    prepared = pgconn.prepare(b"", sql.encode(encoding))  # the unnamed statement
    if prepared.status != psycopg.pq.ExecStatus.COMMAND_OK:
        return []
    described = pgconn.describe_prepared(b"")
    return [(described.fname(i) or b"").decode(encoding) for i in range(described.nfields)]


def _chunked_mode() -> bool:
    return psycopg.pq.version() >= 170000  # stream(size=N) needs libpq 17


# --- embedded engines in another interpreter ----------------------------------------------------


# What a worker needs of this process's environment to start and find its libraries.
PASSED_ENV = frozenset(
    {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "LD_LIBRARY_PATH", "SYSTEMROOT"}
)


class IsolatedClient(EngineClient):
    """SQLite or DuckDB run by ``python -m querygen.engine.worker KIND LOCATION`` under another
    interpreter (another virtualenv with another DuckDB release or a private build).

    The worker interrupts a slow query itself (TIMEOUT, same process). A worker that dies is a
    CRASH, with its exit code or signal and the end of its stderr; one that does not answer
    within ``timeout + grace`` is killed (TIMEOUT). Either way the next request starts a new
    worker. The worker gets a minimal environment (``PASSED_ENV`` and the locale), never this
    process's secrets (a private build is someone else's code); ``env`` adds variables to it.
    """

    START_TIMEOUT = 60.0  # importing the driver in a cold interpreter can be slow
    STDERR_LINES = 40

    def __init__(
        self,
        python: str | os.PathLike[str],
        kind: Literal["sqlite", "duckdb"],
        location: str | os.PathLike[str],
        *,
        name: str | None = None,
        grace: float = 5.0,
        env: dict[str, str] | None = None,
    ) -> None:
        if kind not in worker.KINDS:
            raise ValueError(f"unknown embedded engine {kind!r}; expected one of {worker.KINDS}")
        self.python = str(python)
        self.kind = kind
        self.dialect = kind
        # Absolute: the worker runs in another directory.
        memory = str(location) == worker.MEMORY
        self.location = worker.MEMORY if memory else str(Path(location).absolute())
        self.name = name or f"{kind}:{Path(self.location).name} via {self.python}"
        self.grace = grace
        self.restarts = 0  # workers started after the first (after a crash or a hang)
        self._env = dict(env or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=self.STDERR_LINES)
        self._threads: list[threading.Thread] = []
        self._next_id = 1
        self._started_once = False
        self._setup: list[str] = []  # the last load: a new worker loads it again
        self._start()

    # -- process lifecycle --

    def _start(self) -> None:
        env = {
            key: value
            for key, value in os.environ.items()
            if key in PASSED_ENV or key.startswith("LC_")
        }
        env.update(self._env)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_SOURCE_ROOT), env.get("PYTHONPATH", "")) if p
        )
        try:
            proc = subprocess.Popen(
                [self.python, "-m", "querygen.engine.worker", self.kind, self.location],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=_SOURCE_ROOT,
                env=env,
            )
        except OSError as exc:
            raise EngineError(f"cannot start {self.python}: {exc}") from exc
        lines: queue.Queue[bytes | None] = queue.Queue()
        stderr: collections.deque[str] = collections.deque(maxlen=self.STDERR_LINES)
        assert proc.stdout is not None and proc.stderr is not None
        self._threads = [
            threading.Thread(target=_pump_lines, args=(proc.stdout, lines), daemon=True),
            threading.Thread(target=_pump_stderr, args=(proc.stderr, stderr), daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self._proc, self._lines, self._stderr = proc, lines, stderr
        if self._started_once:
            self.restarts += 1
        self._started_once = True
        hello = self._receive(0, self.START_TIMEOUT)
        if isinstance(hello, Outcome) or hello.get("status") != Status.OK.value:
            error = hello.error if isinstance(hello, Outcome) else hello.get("error")
            self._stop(kill=True)
            raise EngineError(f"{self.name}: worker did not start: {error}")
        if self._setup:  # after a crash: the same database again
            self._call({"op": "load", "statements": self._setup, "timeout": self.START_TIMEOUT})

    def _stop(self, *, kill: bool) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if kill:
            proc.kill()
        else:
            assert proc.stdin is not None
            with contextlib.suppress(OSError):
                proc.stdin.close()  # EOF: the worker closes its database and exits
        try:
            code = proc.wait(timeout=self.grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        for thread in self._threads:
            thread.join(timeout=1.0)  # the pipes are at EOF now: the stderr tail is complete
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        return code

    def _died(self, started: float) -> Outcome:
        proc = self._proc
        code = None
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = proc.wait(timeout=self.grace)  # stdout closed: the process is ending
        code = self._stop(kill=code is None)
        tail = " | ".join(self._stderr)
        error = f"{self.name}: worker died ({_describe_exit(code)})"
        return Outcome(
            Status.CRASH,
            error=f"{error}; stderr: {tail}" if tail else error,
            seconds=time.perf_counter() - started,
        )

    # -- requests --

    def _receive(self, request_id: int, wait: float) -> dict[str, Any] | Outcome:
        """The answer to request_id, or an Outcome when the worker died or hung."""
        started = time.perf_counter()
        deadline = time.monotonic() + wait
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise queue.Empty
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                self._stop(kill=True)
                return Outcome(
                    Status.TIMEOUT,
                    error=f"{self.name}: no answer within {wait:g}s; worker killed",
                    seconds=time.perf_counter() - started,
                )
            if line is None:
                return self._died(started)
            try:
                message = json.loads(line)
            except ValueError:
                self._stderr.append(f"(not protocol) {line[:200]!r}")
                continue
            if isinstance(message, dict) and message.get("id") == request_id:
                return message

    def _request(self, request: dict[str, Any], wait: float) -> dict[str, Any] | Outcome:
        if self._proc is None:
            self._start()
        request_id, self._next_id = self._next_id, self._next_id + 1
        started = time.perf_counter()
        try:
            assert self._proc is not None and self._proc.stdin is not None
            self._proc.stdin.write(json.dumps({**request, "id": request_id}).encode() + b"\n")
            self._proc.stdin.flush()
        except OSError:  # a broken pipe: it died since the last answer
            return self._died(started)
        return self._receive(request_id, wait)

    def _call(self, request: dict[str, Any]) -> Outcome:
        """A request that is not a query (tables, version): failing is an EngineError."""
        answer = self._request(request, self.START_TIMEOUT)
        outcome = answer if isinstance(answer, Outcome) else worker.message_outcome(answer)
        if not outcome.ok:
            raise EngineError(f"{self.name}: {request['op']} failed: {outcome.error}")
        return outcome

    def execute(self, sql: str, *, timeout: float = 10.0, max_rows: int = 10_000) -> Outcome:
        _check_limits(timeout, max_rows)
        request = {"op": "execute", "sql": sql, "timeout": timeout, "max_rows": max_rows}
        answer = self._request(request, timeout + self.grace)
        return answer if isinstance(answer, Outcome) else worker.message_outcome(answer)

    def load(
        self, statements: list[str], *, timeout: float = 10.0, drop: list[str] | None = None
    ) -> Outcome:
        self._setup = []
        request = {
            "op": "load",
            "statements": list(statements),
            "drop": list(drop or []),
            "timeout": timeout,
        }
        answer = self._request(request, timeout * max(1, len(statements)) + self.grace)
        outcome = answer if isinstance(answer, Outcome) else worker.message_outcome(answer)
        if outcome.ok:
            self._setup = list(statements)
        return outcome

    def send_test_hook(
        self, op: Literal["crash", "hang"], *, timeout: float = 10.0, **fields: Any
    ) -> Outcome:
        """Ask the worker to crash ({"how": "abort"} or {"how": "exit", "code": n}) or hang.

        Honoured only when the worker runs with ASSAY_QUERYGEN_TEST_HOOKS=1 (pass it in
        ``env``); otherwise the worker answers ERROR ("unknown op").
        """
        answer = self._request({**fields, "op": op}, timeout + self.grace)
        return answer if isinstance(answer, Outcome) else worker.message_outcome(answer)

    def version(self) -> str:
        return str(self._call({"op": "version"}).rows[0][0])

    def catalog(self) -> list[CatalogColumn]:
        rows = self._call({"op": "tables"}).rows
        return [CatalogColumn(t, c, d, SqlType(s) if s else None) for t, c, d, s in rows]

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def close(self) -> None:
        self._stop(kill=False)


def _pump_lines(pipe: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    try:
        for line in pipe:
            lines.put(line)
    except (OSError, ValueError):
        pass
    lines.put(None)  # EOF: the worker exited or closed its stdout


def _pump_stderr(pipe: IO[bytes], tail: collections.deque[str]) -> None:
    try:
        for line in pipe:
            tail.append(line.decode("utf-8", "replace").rstrip())
    except (OSError, ValueError):
        pass


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
