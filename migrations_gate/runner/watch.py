"""What one migration did to a PostgreSQL database, watched from a connection of the gate's
own while another process migrates: the locks it took (sampled from ``pg_locks``) and for how
long, the tables it rewrote (a relation whose file changed), the WAL it wrote and how the
database's size changed.

The migrating process is found by its ``application_name`` (libpq's ``PGAPPNAME``, which
Django, Alembic and psql all honour): the gate sets a unique one for each check.

WAL is the cluster's: the insert position before and after (the write position lags behind
what is already inserted), so another database's work on the same server counts too; datasets
are vacuumed and frozen when registered, so a clone's first migration does not pay for that.

Pure: psycopg only, no Django.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

__all__ = ["Held", "Measures", "Snapshot", "Watch", "snapshot", "terminate"]

# The user tables, their indexes and TOAST tables, by oid: a rewrite gives a relation a new
# file (relfilenode) under the same oid.
_RELATIONS = """
SELECT c.oid, n.nspname || '.' || c.relname, c.relfilenode, pg_relation_size(c.oid), c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'i', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
"""
# The locks on relations held (or awaited) by the backends of one application_name.
_LOCKS = """
SELECT coalesce(n.nspname || '.' || c.relname, l.relation::text), l.mode, l.granted
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
LEFT JOIN pg_class c ON c.oid = l.relation LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.application_name = %s AND l.locktype = 'relation' AND a.datname = current_database()
  AND (n.nspname IS NULL OR n.nspname NOT IN ('pg_catalog', 'information_schema'))
"""


@dataclass(frozen=True)
class Snapshot:
    lsn: str
    database_bytes: int
    relations: dict[int, tuple[str, int, int, str]]  # oid -> (name, relfilenode, bytes, kind)


def snapshot(conn: psycopg.Connection[Any]) -> Snapshot:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_current_wal_insert_lsn()::text, pg_database_size(current_database())"
        )
        lsn, size = cur.fetchone()  # type: ignore[misc]
        cur.execute(_RELATIONS)
        relations = {oid: (name, node, nbytes, kind) for oid, name, node, nbytes, kind in cur}
    return Snapshot(lsn=lsn, database_bytes=size, relations=relations)


@dataclass
class Held:
    """A lock mode on a relation, from the first sample that saw it to the last."""

    relation: str
    mode: str
    first: float
    last: float
    waited: bool = False  # seen not granted (the migration queued behind another session)

    @property
    def seconds(self) -> float:
        return self.last - self.first


@dataclass
class Measures:
    wal_bytes: int
    size_change_bytes: int
    rewritten: list[str]  # tables (and indexes) whose file changed
    created: list[str]
    dropped: list[str]
    locks: list[Held] = field(default_factory=list)
    samples: int = 0
    relation_bytes: dict[str, int] = field(default_factory=dict)  # before the migration

    def strongest(self, mode: str = "AccessExclusiveLock") -> list[Held]:
        return [h for h in self.locks if h.mode == mode]


class Watch:
    """``with Watch(conninfo, app) as watch: <migrate>``; then ``watch.measures``. Samples the
    locks every ``interval`` seconds from a thread with a connection of its own (a lock held
    for less than the interval may be missed: the figures are a lower bound)."""

    def __init__(self, conninfo: str, application_name: str, interval: float = 0.01) -> None:
        self.conninfo = conninfo
        self.application_name = application_name
        self.interval = interval
        self.measures: Measures | None = None
        self._held: dict[tuple[str, str], Held] = {}
        self._samples = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the sampler writes _held while held() reads it
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> Watch:
        self._conn = psycopg.connect(
            self.conninfo, autocommit=True, application_name="assay-gate-watch"
        )
        self._before = snapshot(self._conn)
        self._thread = threading.Thread(target=self._sample_loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            if exc[0] is None and self._error is None:
                self.measures = self._measure(snapshot(self._conn))
        finally:
            self._conn.close()
        if self._error is not None and exc[0] is None:
            raise self._error

    def _sample_loop(self) -> None:
        try:
            with psycopg.connect(
                self.conninfo, autocommit=True, application_name="assay-gate-locks"
            ) as conn:
                while not self._stop.is_set():
                    self._sample(conn)
                    self._stop.wait(self.interval)
                self._sample(conn)
        except BaseException as exc:  # reported by __exit__
            self._error = exc

    def _sample(self, conn: psycopg.Connection[Any]) -> None:
        rows = conn.execute(_LOCKS, (self.application_name,)).fetchall()
        now = time.monotonic()
        with self._lock:
            self._samples += 1
            for relation, mode, granted in rows:
                held = self._held.get((relation, mode))
                if held is None:
                    held = self._held[(relation, mode)] = Held(relation, mode, now, now)
                held.last = now
                held.waited = held.waited or not granted

    def held(self) -> list[Held]:
        """The locks seen so far (while the migration runs)."""
        with self._lock:
            return list(self._held.values())

    def _measure(self, after: Snapshot) -> Measures:
        before = self._before
        wal = self._conn.execute(
            "SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)::bigint", (after.lsn, before.lsn)
        ).fetchone()[0]  # type: ignore[index]
        rewritten = sorted(
            after.relations[oid][0]
            for oid in before.relations.keys() & after.relations.keys()
            if before.relations[oid][1] != after.relations[oid][1]
        )
        created = sorted(
            after.relations[o][0] for o in after.relations.keys() - before.relations.keys()
        )
        dropped = sorted(
            before.relations[o][0] for o in before.relations.keys() - after.relations.keys()
        )
        # Relations created and dropped within the migration (a rewrite's transient copy) name
        # only an oid: left out.
        locks = sorted(
            (h for h in self._held.values() if not h.relation.isdigit()),
            key=lambda h: (-h.seconds, h.relation, h.mode),
        )
        return Measures(
            wal_bytes=int(wal),
            size_change_bytes=after.database_bytes - before.database_bytes,
            rewritten=rewritten,
            created=created,
            dropped=dropped,
            locks=locks,
            samples=self._samples,
            relation_bytes={name: nbytes for name, _, nbytes, _ in before.relations.values()},
        )


def terminate(conninfo: str, application_name: str) -> int:
    """End the sessions of ``application_name`` on the database (a migration stopped at the
    time limit: a backend waiting on a lock would not notice its client gone). How many."""
    with psycopg.connect(conninfo, autocommit=True, application_name="assay-gate-watch") as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            (application_name,),
        ).fetchone()
    return int(row[0]) if row else 0
