"""Migrations as a directory of ordered SQL files, in Flyway's manner: ``V<version>__<name>.sql``
(version ``1``, ``2``, ``1.1``, ``2_1``: dotted or underscored integers, compared as numbers).

Which are applied is kept in the database, in ``assay_schema_history`` (one row per version,
Flyway's columns); a database migrated by Flyway is read from ``flyway_schema_history`` too.
Each file runs in one transaction with its history row, so a failed one leaves nothing.

``python -m migrations_gate.runner.sqlfiles DIRECTORY`` is the gate's driver (protocol.py): it
applies the pending files one at a time to the database the libpq environment names (PGHOST,
PGDATABASE, ...; PGAPPNAME tells the watch which session it is), or with ``--sqlite PATH`` to a
SQLite file.

Pure: psycopg (or sqlite3), no Django.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dbkinds
from migrations_gate.runner.drivers.protocol import drive

__all__ = ["HISTORY_TABLE", "SqlMigration", "apply", "applied_versions", "discover", "main"]

HISTORY_TABLE = "assay_schema_history"
_NAME_RE = re.compile(r"^V(?P<version>\d+(?:[._]\d+)*)__(?P<name>[^/\\]+)\.sql$")
_HISTORY_DDL = (
    f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (version VARCHAR(50) PRIMARY KEY, "
    "description VARCHAR(200) NOT NULL, script VARCHAR(1000) NOT NULL, checksum VARCHAR(64) "
    "NOT NULL, installed_on TIMESTAMP NOT NULL, execution_time INTEGER NOT NULL)"
)


_INSERT = (
    "INSERT INTO assay_schema_history (version, description, script, checksum, installed_on, "
    "execution_time) VALUES (%s, %s, %s, %s, CURRENT_TIMESTAMP, %s)"
)


class MigrationsError(ValueError):
    """A migrations directory that cannot be used, said in one sentence."""


@dataclass(frozen=True)
class SqlMigration:
    version: str  # as written: "1.1"
    name: str
    path: Path

    @property
    def key(self) -> tuple[int, ...]:
        return _version_key(self.version)

    @property
    def id(self) -> str:
        return f"V{self.version}__{self.name}"


def _version_key(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in re.split(r"[._]", version)]
    while len(parts) > 1 and parts[-1] == 0:  # 1.0 is 1
        parts.pop()
    return tuple(parts)


def discover(directory: Path) -> list[SqlMigration]:
    """The directory's migrations in version order. Other files are ignored; two files of
    one version, or a file whose name starts with V but does not parse, are refused."""
    if not directory.is_dir():
        raise MigrationsError(f"{directory}: no such migrations directory")
    found: dict[tuple[int, ...], SqlMigration] = {}
    for path in sorted(directory.iterdir()):
        if not path.is_file() or not path.name.startswith("V"):
            continue
        match = _NAME_RE.match(path.name)
        if match is None:
            if path.suffix == ".sql":
                raise MigrationsError(
                    f"{path.name}: a migration is named V<version>__<name>.sql (V1__init.sql)"
                )
            continue
        migration = SqlMigration(match["version"], match["name"], path)
        other = found.get(migration.key)
        if other is not None:
            raise MigrationsError(f"{other.path.name} and {path.name} have one version")
        found[migration.key] = migration
    return [found[k] for k in sorted(found)]


def applied_versions(conn: Any, *, sqlite: bool = False) -> set[tuple[int, ...]]:
    """The versions the database has (ours and Flyway's history), by their keys."""
    versions: set[tuple[int, ...]] = set()
    for table, query in _HISTORY_QUERIES:
        if not _has_table(conn, table, sqlite):
            continue
        rows = conn.execute(query).fetchall()
        versions.update(
            _version_key(v) for (v,) in rows if v and re.fullmatch(r"\d+(?:[._]\d+)*", v)
        )
    return versions


_HISTORY_QUERIES = (
    (HISTORY_TABLE, "SELECT version FROM assay_schema_history"),
    ("flyway_schema_history", "SELECT version FROM flyway_schema_history WHERE success"),
)


def _has_table(conn: Any, table: str, sqlite: bool) -> bool:
    return table in dbkinds.get("sqlite" if sqlite else "postgresql").list_tables(conn)


def apply(conn: Any, migration: SqlMigration, *, sqlite: bool = False) -> float:
    """Run one migration and record it, in one transaction; its seconds."""
    text = migration.path.read_text(encoding="utf-8")
    checksum = hashlib.sha256(text.encode()).hexdigest()
    param = "?" if sqlite else "%s"
    started = time.perf_counter()
    if sqlite:
        # executescript commits first: the file and its history row in one explicit transaction
        conn.isolation_level = None
        conn.execute("BEGIN")
        try:
            for statement in _sqlite_statements(text):
                conn.execute(statement)
            _record(conn, migration, checksum, started, param)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    else:
        with conn.transaction():
            if text.strip():
                conn.execute(text)
            _record(conn, migration, checksum, started, param)
    return time.perf_counter() - started


def _record(conn: Any, migration: SqlMigration, checksum: str, started: float, param: str) -> None:
    conn.execute(_HISTORY_DDL)
    ms = int((time.perf_counter() - started) * 1000)
    insert = _INSERT.replace("%s", param)  # sqlite3's placeholder is ?
    conn.execute(
        insert, (migration.version, migration.name[:200], migration.path.name[:1000], checksum, ms)
    )


def _sqlite_statements(text: str) -> list[str]:
    """The file's statements, split where sqlite3 says a statement is complete."""
    statements, current = [], ""
    for line in text.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current)
            current = ""
    if current.strip():
        statements.append(current)
    return statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply a directory's pending SQL migrations.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--sqlite", metavar="PATH", help="a SQLite file instead of PostgreSQL")
    args = parser.parse_args(argv)
    try:
        migrations = discover(args.directory)
    except MigrationsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.sqlite:
        conn: Any = sqlite3.connect(args.sqlite)
    else:
        import psycopg  # the libpq environment says where

        conn = psycopg.connect("")
    sqlite = bool(args.sqlite)
    try:
        done = applied_versions(conn, sqlite=sqlite)
        if not sqlite:
            conn.commit()
        by_id = {m.id: m for m in migrations if m.key not in done}

        def left() -> int:
            now = applied_versions(conn, sqlite=sqlite)
            return sum(m.key not in now for m in migrations)

        return drive(list(by_id), lambda name: apply(conn, by_id[name], sqlite=sqlite), left)
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
