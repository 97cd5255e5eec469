"""The gate's datasets: a copy of a real database, anonymized under rules (anonymize.py) and
stored once, from which every check clones a throwaway database to migrate.

PostgreSQL: the source's current schema is dumped (``pg_dump --format=custom``) and restored
into a new database in two stages. Tables and their rows first, then the anonymization (one
transaction), then the indexes, constraints and triggers (pg_restore's post-data section):
so the anonymizing UPDATEs meet no foreign key, unique index or user trigger, the constraints
are rebuilt (and so checked) on the anonymized rows, and materialized views are refreshed
from them. The database is then vacuumed and frozen and becomes a template: a clone is
``CREATE DATABASE ... TEMPLATE``, copied by the server block by block.

SQLite: the file is copied with the backup API, anonymized in one transaction, checked for
foreign keys it no longer satisfies, vacuumed and moved into place; a clone is a file copy.

A value is anonymized once per column however often it occurs: its distinct values are
mapped in Python (``Rules.apply``), the mapping loaded into a temporary table and joined in
one UPDATE, so equal values stay equal and NULL stays NULL. On PostgreSQL values are mapped
by their text (what ``value::text`` prints, timestamps in UTC), so one rule sees the same
value on either kind and every type goes one way.

Strict mode is checked on the source before anything is copied. Whatever fails, the half-made
dataset is removed.

Pure: psycopg and sqlite3, no Django.
"""

from __future__ import annotations

import datetime
import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dbkinds import postgresql as pg
from dbkinds import sqlite as lite
from dbkinds.base import Column
from migrations_gate.runner import Say
from migrations_gate.runner.anonymize import Rules, RulesError, unruled_columns

__all__ = [
    "DatasetError",
    "RegisteredDataset",
    "clone",
    "clone_sqlite",
    "create_database",
    "drop",
    "drop_role",
    "hand_over",
    "pg_tool",
    "register_postgresql",
    "register_sqlite",
    "rule_problems",
    "rules_digest",
]

# Databases the gate makes: plain names, nothing a quoting slip could turn into SQL.
_NAME_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Migration tools' own history: no personal data, so strict mode asks no rule for them.
HISTORY_TABLES = frozenset(
    {"django_migrations", "assay_schema_history", "flyway_schema_history", "alembic_version"}
)
_BATCH = 10_000  # distinct values mapped per round trip
_MAP = "assay_anonymize_map"
_INFINITE = frozenset({"infinity", "-infinity"})  # PostgreSQL's endless dates: no day to move


class DatasetError(Exception):
    """A dataset that could not be registered or cloned, said in one line."""


@dataclass(frozen=True)
class RegisteredDataset:
    name: str  # the template database, or the SQLite file's path
    size_bytes: int
    tables: dict[str, int]  # table -> rows
    rules_digest: str  # of the rules, not the secret: which rules made it
    schema_version: dict[str, Any]  # per migration tool found, e.g. {"django": {app: name}}
    anonymized: list[str] = field(default_factory=list)  # table.column rewritten
    seconds: float = 0.0


def rules_digest(rules: Rules) -> str:
    """SHA-256 of the rules in a canonical form; the secret takes no part."""
    canonical = {
        "strict": rules.strict,
        "shift_days": rules.shift_days,
        "columns": {
            f"{t}.{c}": [r.kind, r.constant] for (t, c), r in sorted(rules.columns.items())
        },
    }
    text = json.dumps(canonical, sort_keys=True, default=str)  # a YAML date constant as ISO
    return hashlib.sha256(text.encode()).hexdigest()


# --- PostgreSQL ----------------------------------------------------------------------------------


def register_postgresql(
    source_conninfo: str,
    admin_conninfo: str,
    template_name: str,
    rules: Rules,
    secret: bytes,
    progress: Say | None = None,
    *,
    pg_bindir: str | None = None,
) -> RegisteredDataset:
    """Copy the source's current schema into a new template database ``template_name`` on
    the admin connection's server, anonymized. DatasetError (and no database) on failure."""
    say = progress or (lambda _message: None)
    started = time.monotonic()
    _check_name(template_name)
    pg_dump, pg_restore = _pg_tool("pg_dump", pg_bindir), _pg_tool("pg_restore", pg_bindir)
    say("reading the source's catalog")
    with _pg_connect(source_conninfo, "source", read_only=True) as src:
        catalog = pg.catalog(src)
        _check_rules(rules, _schema(catalog, _pg_family))
        schema_name, encoding, collate, ctype = src.execute(
            "SELECT current_schema(), pg_encoding_to_char(encoding), datcollate, datctype "
            "FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        src.rollback()
    targets = _targets(catalog, rules)
    with _pg_connect(admin_conninfo, "admin server") as admin:
        try:
            admin.execute(
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}"
                ).format(
                    sql.Identifier(template_name),
                    sql.Literal(encoding),
                    sql.Literal(collate),
                    sql.Literal(ctype),
                )
            )
        except psycopg.errors.DuplicateDatabase:
            raise DatasetError(f"database {template_name} already exists") from None
        except psycopg.Error as exc:
            raise DatasetError(f"cannot create database {template_name}: {_first(exc)}") from None
    # From here on the database is ours: whatever fails, it goes.
    try:
        target = _with_dbname(admin_conninfo, template_name)
        with tempfile.TemporaryDirectory(prefix="assay-dataset-") as tmp:
            dump = os.path.join(tmp, "source.dump")
            say("dumping the source")
            _run_tool(
                "pg_dump",
                source_conninfo,
                # Only the schema strict mode checked leaves the source (extensions come too:
                # its columns may use their types); no large objects, nothing that connects out.
                [pg_dump, "--format=custom", f"--file={dump}", f"--schema={_pattern(schema_name)}"]
                + ["--extension=*", "--no-publications", "--no-subscriptions"],
            )
            # A dump of one schema creates it: the empty one the new database has goes first.
            with _pg_connect(target, "template") as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name))
                )
            say("restoring the tables and their rows")
            restore = [pg_restore, "--no-owner", "--no-acl", "--no-tablespaces"]
            restore += ["--single-transaction", "--exit-on-error"]
            _run_tool(
                "pg_restore", target, [*restore, "--section=pre-data", "--section=data", dump]
            )
            with _pg_connect(target, "template") as conn:
                _anonymize_pg(conn, targets, rules, secret, say)
                # The UPDATEs left a dead copy of each row: compacted now, before any index.
                say("compacting the anonymized tables")
                for table in sorted({t for t, _ in targets}):
                    conn.execute(sql.SQL("VACUUM FULL {}").format(sql.Identifier(table)))
            say("restoring indexes, constraints and triggers")
            _run_tool(
                "pg_restore",
                target,
                [*restore, "--section=post-data", dump],
                "indexes and constraints do not hold on the anonymized rows (a rule that "
                "breaks a unique or foreign key?)",
            )
        say("vacuuming")
        with _pg_connect(target, "template") as conn:
            conn.execute("VACUUM (FREEZE, ANALYZE)")
            tables = _row_counts(conn, pg.list_tables(conn), _pg_count)
            version = _schema_version(conn, list(tables))
        say("marking it a template")
        with _pg_connect(admin_conninfo, "admin server") as admin:
            ident = sql.Identifier(template_name)
            # Clones need no session on the template; refusing them keeps one from blocking.
            admin.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(
                    ident
                )
            )
            size = admin.execute("SELECT pg_database_size(%s)", [template_name]).fetchone()[0]
    except BaseException as exc:
        _drop_quietly(admin_conninfo, template_name)
        if isinstance(exc, psycopg.Error):
            raise DatasetError(f"registering {template_name} failed: {_first(exc)}") from None
        raise
    return RegisteredDataset(
        name=template_name,
        size_bytes=int(size),
        tables=tables,
        rules_digest=rules_digest(rules),
        schema_version=version,
        anonymized=[f"{t}.{c}" for t, c in targets],
        seconds=time.monotonic() - started,
    )


def clone(admin_conninfo: str, template_name: str, clone_name: str) -> str:
    """A new database ``clone_name`` copied from the template by the server itself (no dump,
    no restore): its conninfo. On PostgreSQL 15 and later with STRATEGY FILE_COPY: the
    default, WAL_LOG, writes the whole copy to the WAL too (benchmarks/migrations_gate.py: a
    1 GB dataset cloned in 1.3 s instead of 2.3 s); older servers only copy files."""
    _check_name(template_name)
    _check_name(clone_name)
    with _pg_connect(admin_conninfo, "admin server") as admin:
        strategy = " STRATEGY FILE_COPY" if admin.info.server_version >= 150000 else ""
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}" + strategy)
        try:
            admin.execute(create.format(sql.Identifier(clone_name), sql.Identifier(template_name)))
        except psycopg.errors.DuplicateDatabase:
            raise DatasetError(f"database {clone_name} already exists") from None
        except psycopg.errors.InvalidCatalogName:
            raise DatasetError(f"no dataset {template_name} on the server") from None
        except psycopg.Error as exc:
            raise DatasetError(f"cannot clone {template_name}: {_first(exc)}") from None
    return _with_dbname(admin_conninfo, clone_name)


def hand_over(admin_conninfo: str, clone_name: str, role: str) -> str:
    """Make ``role`` (a new login role, the admin a member of it) the owner of the clone and of
    everything in its schemas, so that a change's migrations run as a role that owns that
    database alone: they cannot drop or alter the templates and other clones the admin owns.
    The role's conninfo (a random password). DatasetError without CREATEROLE."""
    _check_name(role)
    ident = sql.Identifier(role)
    password = secrets.token_urlsafe(24)
    with _pg_connect(admin_conninfo, "admin server") as admin:
        try:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))  # an earlier attempt's
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(ident, sql.Literal(password))
            )
            # A member of the owner may drop the clone afterwards (and, on 16, must be one).
            admin.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(ident))
            admin.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(clone_name), ident)
            )
        except psycopg.Error as exc:
            raise DatasetError(
                f"cannot make a role of its own for {clone_name} (the gate's user needs "
                f"CREATEROLE): {_first(exc)}"
            ) from None
    clone_info = _with_dbname(admin_conninfo, clone_name)
    with _pg_connect(clone_info, "clone") as conn:
        try:
            for statement in _ownership(conn, role):
                conn.execute(statement)
        except psycopg.Error as exc:
            raise DatasetError(f"cannot hand {clone_name} over: {_first(exc)}") from None
    return make_conninfo(clone_info, user=role, password=password)


# Whatever a restore made in a clone, by kind: ALTER ... OWNER TO for each (one by one: REASSIGN
# OWNED would also hand over every database the admin owns).
_OWNED = r"""
SELECT 'SCHEMA', quote_ident(n.nspname) FROM pg_namespace n
 WHERE n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
   AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
UNION ALL
SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
       WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT LIKE 'pg\_%'
   AND n.nspname <> 'information_schema' AND c.relowner = (SELECT oid FROM pg_roles
   WHERE rolname = current_user)
   AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
            AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT 'ROUTINE', p.oid::regprocedure::text FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
   AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'TYPE', t.oid::regtype::text FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typtype IN ('e', 'd', 'r', 'c') AND n.nspname NOT LIKE 'pg\_%'
   AND n.nspname <> 'information_schema' AND t.typowner = (SELECT oid FROM pg_roles
   WHERE rolname = current_user)
   AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind <> 'c')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
"""


def _ownership(conn: Any, role: str) -> list[sql.Composed]:
    rows = conn.execute(_OWNED).fetchall()
    return [
        sql.SQL("ALTER {} {} OWNER TO {}").format(
            sql.SQL(kind), sql.SQL(name), sql.Identifier(role)
        )
        for kind, name in rows
    ] + [sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(sql.Identifier(role))]


def drop_role(admin_conninfo: str, role: str) -> None:
    """The check's role, once its clone is dropped (nothing if it is gone)."""
    _check_name(role)
    with _pg_connect(admin_conninfo, "admin server") as admin:
        try:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        except psycopg.Error as exc:
            raise DatasetError(f"cannot drop role {role}: {_first(exc)}") from None


def drop(admin_conninfo: str, name: str) -> None:
    """Drop the database ``name`` (a clone, or a template), ending its sessions; nothing if
    it does not exist."""
    _check_name(name)
    ident = sql.Identifier(name)
    with _pg_connect(admin_conninfo, "admin server") as admin:
        try:  # a template cannot be dropped as one
            admin.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(ident))
        except psycopg.errors.InvalidCatalogName:
            return
        except psycopg.Error as exc:
            raise DatasetError(f"cannot drop {name}: {_first(exc)}") from None
        try:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        except psycopg.Error as exc:
            raise DatasetError(f"cannot drop {name}: {_first(exc)}") from None


def _drop_quietly(admin_conninfo: str, name: str) -> None:
    # Cleaning up after another error: that one is the one to report.
    with suppress(DatasetError, psycopg.Error):
        drop(admin_conninfo, name)


def _anonymize_pg(
    conn: Any, targets: list[tuple[str, str]], rules: Rules, secret: bytes, say: Say
) -> None:
    with conn.transaction():
        # Timestamps printed in UTC: the text a value is mapped by is the same on any server.
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        for table, column in targets:
            say(f"anonymizing {table}.{column}")
            t, c = sql.Identifier(table), sql.Identifier(column)
            # old: the value's text, compared byte for byte; new: the column's own type, so
            # COPY parses the anonymized text as a cast would.
            conn.execute(
                sql.SQL(
                    'CREATE TEMP TABLE {m} AS SELECT {c}::text COLLATE "C" AS old, {c} AS new '
                    "FROM {t} WITH NO DATA"
                ).format(m=sql.Identifier(_MAP), c=c, t=t)
            )
            try:
                # A server-side cursor: the distinct values come in batches, never all at once.
                with conn.cursor(name="assay_distinct") as values:
                    values.execute(
                        sql.SQL(
                            'SELECT DISTINCT {c}::text COLLATE "C" FROM {t} WHERE {c} IS NOT NULL'
                        ).format(c=c, t=t)
                    )
                    while batch := values.fetchmany(_BATCH):
                        mapped = _mapped(rules, table, column, (v for (v,) in batch), secret)
                        with conn.cursor().copy(
                            sql.SQL("COPY {} (old, new) FROM STDIN").format(sql.Identifier(_MAP))
                        ) as copy:
                            for row in mapped:
                                copy.write_row(row)
                conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(_MAP)))
                conn.execute(
                    sql.SQL(
                        'UPDATE {t} SET {c} = m.new FROM {m} m WHERE {t}.{c}::text COLLATE "C" '
                        "= m.old"
                    ).format(t=t, c=c, m=sql.Identifier(_MAP))
                )
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(_MAP)))
            except psycopg.Error as exc:
                raise DatasetError(f"anonymizing {table}.{column} failed: {_first(exc)}") from None


def _pg_connect(conninfo: str, what: str, *, read_only: bool = False) -> Any:
    try:
        # Parsed first: psycopg's own parse error quotes the conninfo, password and all.
        pg.conninfo_params(conninfo)
        return pg.connect(conninfo, read_only=read_only)
    except ValueError as exc:  # its message never quotes the conninfo
        raise DatasetError(f"{what}: {exc}") from None
    except psycopg.Error as exc:
        raise DatasetError(f"{what} unreachable ({pg.describe(conninfo)}): {_first(exc)}") from None


def _with_dbname(conninfo: str, dbname: str) -> str:
    return make_conninfo(conninfo, dbname=dbname)


def _pattern(name: str) -> str:
    """pg_dump's pattern matching exactly ``name`` (double quotes: taken literally)."""
    return '"' + name.replace('"', '""') + '"'


def _run_tool(tool: str, conninfo: str, argv: list[str], meaning: str = "") -> None:
    """Run pg_dump or pg_restore against ``conninfo``; DatasetError with its last error line.
    The password goes in the environment, not the command line others can read."""
    params = conninfo_to_dict(conninfo)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    argv = [*argv[:1], f"--dbname={make_conninfo(**params)}", *argv[1:]]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise DatasetError(f"{tool} could not start: {exc}") from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error:" in ln.lower()] or lines or ["no message"]
        prefix = f"{meaning}: " if meaning else ""
        raise DatasetError(f"{prefix}{tool} failed (exit {done.returncode}): {errors[-1]}")


def _pg_tool(name: str, bindir: str | None) -> str:
    """pg_dump or pg_restore: from ``bindir``, else the newest Debian version (it must be at
    least the server's), else PATH."""
    candidates = [os.path.join(bindir, name)] if bindir else []
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major, reverse=True)
    if found := shutil.which(name):
        candidates.append(found)
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise DatasetError(f"{name} not found (install PostgreSQL's client programs or pass pg_bindir)")


def _major(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([\d.]+)/bin/", path)
    return tuple(int(p) for p in match.group(1).split(".") if p) if match else (0,)


# --- SQLite --------------------------------------------------------------------------------------


def register_sqlite(
    source_path: str | os.PathLike[str],
    dest_path: str | os.PathLike[str],
    rules: Rules,
    secret: bytes,
    progress: Say | None = None,
) -> RegisteredDataset:
    """Copy the SQLite file ``source_path`` to ``dest_path``, anonymized. DatasetError (and no
    file) on failure."""
    say = progress or (lambda _message: None)
    started = time.monotonic()
    source, dest = Path(source_path), Path(dest_path)
    if not source.is_file():
        raise DatasetError(f"source database {source} not found")
    if dest.exists():
        raise DatasetError(f"{dest} already exists")
    if not dest.parent.is_dir():
        raise DatasetError(f"{dest.parent}: no such directory")
    try:
        src = lite.connect(str(source), read_only=True)
    except sqlite3.Error as exc:
        raise DatasetError(f"source {source} unreadable: {_first(exc)}") from None
    with closing(src):
        say("reading the source's catalog")
        try:
            catalog = lite.catalog(src)
        except sqlite3.Error as exc:
            raise DatasetError(f"source {source} unreadable: {_first(exc)}") from None
        _check_rules(rules, _schema(catalog, lite.type_family))
        targets = _targets(catalog, rules)
        # Beside the destination, so the last step is a rename on one file system.
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            say("copying the source")
            with closing(sqlite3.connect(tmp)) as dst:
                src.backup(dst)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, sqlite3.Error):
                raise DatasetError(f"copying {source} failed: {_first(exc)}") from None
            raise
    try:
        with closing(lite.connect(str(tmp))) as conn:
            conn.execute("PRAGMA journal_mode = DELETE")  # one file, whatever the source used
            broken_before = _fk_violations(conn)
            _anonymize_sqlite(conn, targets, rules, secret, say)
            broken = _fk_violations(conn) - broken_before
            if broken:
                links = ", ".join(sorted({f"{child} -> {parent}" for child, _, parent in broken}))
                raise DatasetError(f"foreign keys no longer hold after anonymization: {links}")
            say("vacuuming")
            conn.execute("VACUUM")
            tables = _row_counts(conn, lite.list_tables(conn), _sqlite_count)
            version = _schema_version(conn, list(tables))
        _move_into_place(tmp, dest)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, sqlite3.Error):
            raise DatasetError(f"registering {dest} failed: {_first(exc)}") from None
        raise
    return RegisteredDataset(
        name=str(dest),
        size_bytes=dest.stat().st_size,
        tables=tables,
        rules_digest=rules_digest(rules),
        schema_version=version,
        anonymized=[f"{t}.{c}" for t, c in targets],
        seconds=time.monotonic() - started,
    )


def clone_sqlite(dest_path: str | os.PathLike[str], clone_path: str | os.PathLike[str]) -> str:
    """A copy of the dataset file at ``clone_path`` (which must not exist): its path."""
    dest, target = Path(dest_path), Path(clone_path)
    try:
        with dest.open("rb") as src, target.open("xb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    except FileNotFoundError as exc:
        raise DatasetError(f"{exc.filename}: no such file or directory") from None
    except FileExistsError:
        raise DatasetError(f"{target} already exists") from None
    return str(target)


def _anonymize_sqlite(
    conn: sqlite3.Connection,
    targets: list[tuple[str, str]],
    rules: Rules,
    secret: bytes,
    say: Say,
) -> None:
    with lite.transaction(conn):
        for table, column in targets:
            say(f"anonymizing {table}.{column}")
            t, c = lite.quote(table), lite.quote(column)
            try:
                # The map's columns take the column's affinity, so the lookup below can use
                # the index on old (an affinity conversion would rule it out).
                conn.execute(
                    f"CREATE TEMP TABLE {_MAP} AS SELECT {c} AS old, {c} AS new "  # noqa: S608 (quoted names)
                    f"FROM {t} WHERE 0"
                )
                conn.execute(f"CREATE UNIQUE INDEX temp.{_MAP}_old ON {_MAP} (old)")
                # COLLATE BINARY: every value apart, even in a NOCASE column, so each finds
                # its own row in the map.
                values = conn.execute(
                    f"SELECT DISTINCT {c} COLLATE BINARY FROM {t} WHERE {c} IS NOT NULL"  # noqa: S608 (quoted names)
                )
                while batch := values.fetchmany(_BATCH):
                    mapped = _mapped(rules, table, column, (v for (v,) in batch), secret)
                    conn.executemany(
                        f"INSERT INTO {_MAP} (old, new) VALUES (?, ?)",  # noqa: S608 (a constant)
                        ((old, _sqlite_value(new)) for old, new in mapped),
                    )
                conn.execute(
                    f"UPDATE {t} SET {c} = (SELECT new FROM {_MAP} WHERE old = {t}.{c}) "  # noqa: S608 (quoted names)
                    f"WHERE {c} IS NOT NULL"
                )
                conn.execute(f"DROP TABLE temp.{_MAP}")
            except sqlite3.Error as exc:
                raise DatasetError(f"anonymizing {table}.{column} failed: {_first(exc)}") from None


def _sqlite_value(value: Any) -> Any:
    # sqlite3's date adapters are deprecated: a date constant is stored as SQLite keeps dates.
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _fk_violations(conn: sqlite3.Connection) -> set[tuple[str, int | None, str]]:
    """(table, rowid, parent) of every row whose foreign key finds no parent."""
    return {(t, rowid, parent) for t, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check")}


def _move_into_place(tmp: Path, dest: Path) -> None:
    """Rename without replacing a file that appeared meanwhile (a hard link fails on one)."""
    try:
        os.link(tmp, dest)
    except FileExistsError:
        raise DatasetError(f"{dest} already exists") from None
    except OSError:  # a file system without hard links
        if dest.exists():
            raise DatasetError(f"{dest} already exists") from None
        os.replace(tmp, dest)
        return
    tmp.unlink()


# --- shared ----------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise DatasetError(
            f"invalid database name {name!r}: lower-case letters, digits and _, at most 63"
        )


def _schema(
    catalog: Iterable[Column], family: Callable[[str], str | None]
) -> dict[str, list[tuple[str, str | None]]]:
    schema: dict[str, list[tuple[str, str | None]]] = {}
    for col in catalog:
        schema.setdefault(col.table, []).append((col.name, family(col.declared)))
    return schema


# PostgreSQL's times beyond the families dbkinds compares values as: they hold no text, so
# strict mode needs no rule for them.
_PG_TIMES = frozenset(
    {"timestamp with time zone", "time without time zone", "time with time zone", "interval"}
)


def _pg_family(declared: str) -> str | None:
    if declared.strip().lower() in _PG_TIMES:
        return "timestamp"
    return pg.type_family(declared)


def _check_rules(rules: Rules, schema: dict[str, list[tuple[str, str | None]]]) -> None:
    """Strict mode's refusal, and rules naming columns the source does not have."""
    missing, unused = _rule_problems(rules, schema)
    if missing:
        raise DatasetError(
            f"strict anonymization: no rule for {', '.join(missing)} (add a rule or `keep`)"
        )
    if unused:
        raise DatasetError(f"the rules name columns the source does not have: {', '.join(unused)}")


def _rule_problems(
    rules: Rules, schema: dict[str, list[tuple[str, str | None]]]
) -> tuple[list[str], list[str]]:
    checked = {t: cols for t, cols in schema.items() if t.lower() not in HISTORY_TABLES}
    return unruled_columns(rules, checked), rules.unused(schema)


def rule_problems(
    rules: Rules, *, conninfo: str | None = None, sqlite_path: str | None = None
) -> tuple[list[str], list[str]]:
    """What registering a source with ``rules`` would refuse, read from its catalog alone:
    (text-like columns without a rule in strict mode, rules naming no column)."""
    if conninfo is not None:
        with _pg_connect(conninfo, "source", read_only=True) as conn:
            schema = _schema(pg.catalog(conn), _pg_family)
    else:
        if sqlite_path is None or not os.path.isfile(sqlite_path):
            raise DatasetError(f"{sqlite_path}: no such SQLite file")
        with closing(sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)) as conn:
            schema = _schema(lite.catalog(conn), lite.type_family)
    return _rule_problems(rules, schema)


def create_database(admin_conninfo: str, name: str) -> str:
    """An empty database ``name`` on the admin connection's server (a scratch one to restore a
    dump into): its conninfo."""
    _check_name(name)
    with _pg_connect(admin_conninfo, "admin server") as admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise DatasetError(f"cannot create database {name}: {_first(exc)}") from None
    return _with_dbname(admin_conninfo, name)


def pg_tool(name: str, bindir: str | None = None) -> str:
    """A PostgreSQL client program (pg_dump, pg_restore, psql): see _pg_tool."""
    return _pg_tool(name, bindir)


def _targets(catalog: Iterable[Column], rules: Rules) -> list[tuple[str, str]]:
    """The (table, column) pairs a rule changes, in catalog order."""
    return [(c.table, c.name) for c in catalog if rules.rule(c.table, c.name).kind != "keep"]


def _mapped(
    rules: Rules, table: str, column: str, values: Iterable[Any], secret: bytes
) -> Iterator[tuple[Any, Any]]:
    kind = rules.rule(table, column).kind
    for value in values:
        if kind == "shift" and value in _INFINITE:
            yield value, value
            continue
        try:
            yield value, rules.apply(table, column, value, secret)
        except RulesError:
            # RulesError quotes the value: a real one, kept out of logs and messages.
            raise DatasetError(
                f"{table}.{column}: the {kind} rule cannot map one of its values "
                "(not shown: it may be personal)"
            ) from None


def _row_counts(conn: Any, tables: list[str], count: Callable[[str], Any]) -> dict[str, int]:
    """Rows per table; ``count(table)`` is the kind's query."""
    return {table: int(conn.execute(count(table)).fetchone()[0]) for table in tables}


def _pg_count(table: str) -> sql.Composed:
    return sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))


def _sqlite_count(table: str) -> str:
    return f"SELECT count(*) FROM {lite.quote(table)}"  # noqa: S608 (a quoted name)


def _schema_version(conn: Any, tables: list[str]) -> dict[str, Any]:
    """What the migration tools' history tables say the schema is at; {} if none is found."""
    found: dict[str, Any] = {}
    if "django_migrations" in tables:
        rows = conn.execute("SELECT app, max(name) FROM django_migrations GROUP BY app").fetchall()
        found["django"] = dict(sorted(rows))
    for table, query in (
        ("assay_schema_history", "SELECT version FROM assay_schema_history"),
        ("flyway_schema_history", "SELECT version FROM flyway_schema_history WHERE success"),
    ):
        if table in tables:
            versions = [v for (v,) in conn.execute(query).fetchall() if _is_version(v)]
            if versions:
                found[table] = max(versions, key=_version_key)
    if "alembic_version" in tables:
        heads = sorted(v for (v,) in conn.execute("SELECT version_num FROM alembic_version"))
        if heads:
            found["alembic"] = heads
    return found


def _is_version(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d+(?:[._]\d+)*", value) is not None


def _version_key(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in re.split(r"[._]", version)]
    while len(parts) > 1 and parts[-1] == 0:  # 1.0 is 1
        parts.pop()
    return tuple(parts)


def _first(exc: BaseException) -> str:
    """An exception's first line (drivers add hints and context on the next ones)."""
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__
