"""Datasets: a real database copied, anonymized (equal values still equal, dates moved by one
offset, keys still holding), stored as a PostgreSQL template or a SQLite file, and cloned;
refused in strict mode before anything is copied, and removed whole when anything fails."""

from __future__ import annotations

import datetime
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from migrations_gate.runner.anonymize import parse_rules
from migrations_gate.runner.datasets import (
    DatasetError,
    RegisteredDataset,
    clone,
    clone_sqlite,
    drop,
    register_postgresql,
    register_sqlite,
    rules_digest,
)
from tests.postgres_plugin import server_database

SECRET = b"dataset-secret"
RULES = """
shift_days: 30
columns:
  users.email: email
  users.name: name
  users.bio: text
  users.created: shift
  users.country: keep
  orders.user_email: email
  orders.note: text
"""
USERS, ORDERS = 600, 1800
NAMES = ["Alice Martin", "Bruno Keller", "Chloe Durand", "Dmitri Volkov", "Elena Rossi"]
BIOS = ["Loves hiking.", "Writes code at night", "Coffee first; then mail", None]
COUNTRIES = ["FR", "DE", "US"]
START = datetime.datetime(2023, 1, 1, tzinfo=datetime.UTC)
MIGRATIONS = [("auth", "0001_initial"), ("auth", "0012_alter_user"), ("shop", "0002_orders")]
VERSIONS = ["1", "1.1", "9", "10"]  # compared as numbers: 10 is the latest


def users() -> list[tuple[Any, ...]]:
    """Duplicate names, bios and countries; a few e-mail domains shared."""
    return [
        (
            i,
            f"user{i}@mail{i % 7}.example.com",
            NAMES[i % len(NAMES)],
            BIOS[i % len(BIOS)],
            START + datetime.timedelta(hours=i * 7, minutes=i),
            COUNTRIES[i % len(COUNTRIES)],
        )
        for i in range(1, USERS + 1)
    ]


def orders() -> list[tuple[Any, ...]]:
    """Several orders per customer (customers picked unevenly), some without a note."""
    return [
        (i, f"user{(i * i) % USERS + 1}@mail{((i * i) % USERS + 1) % 7}.example.com",
         None if i % 5 == 0 else f"deliver to gate {i % 40}")
        for i in range(1, ORDERS + 1)
    ]  # fmt: skip


# Read the same on either kind: what anonymization must keep.
SHAPE_QUERIES = {
    "orders per user": "SELECT u.id, count(o.id) FROM users u LEFT JOIN orders o "
    "ON o.user_email = u.email GROUP BY u.id ORDER BY u.id",
    "joined": "SELECT count(*) FROM orders o JOIN users u ON u.email = o.user_email",
    "name groups": "SELECT count(*) FROM users GROUP BY name ORDER BY 1",
    "bio groups": "SELECT count(*) FROM users GROUP BY bio ORDER BY 1",
    "note groups": "SELECT count(*) FROM orders GROUP BY note ORDER BY 1",
    "countries": "SELECT id, country FROM users ORDER BY id",
}
PERSONAL = {
    "email": "SELECT email FROM users UNION SELECT user_email FROM orders",
    "name": "SELECT name FROM users",
    "bio": "SELECT bio FROM users WHERE bio IS NOT NULL",
    "note": "SELECT note FROM orders WHERE note IS NOT NULL",
}

Fetch = Callable[[str], list[tuple[Any, ...]]]


def check_anonymized(before: Fetch, after: Fetch) -> None:
    for what, query in PERSONAL.items():
        original, now = {r[0] for r in before(query)}, {r[0] for r in after(query)}
        assert len(now) == len(original), what  # one fake value per real one
        assert not original & now, f"original {what} text remains"
    for what, query in SHAPE_QUERIES.items():
        assert after(query) == before(query), what
    assert {r[0] for r in after("SELECT bio FROM users")} >= {None}  # NULL stays NULL
    fake = after("SELECT email FROM users ORDER BY id")[0][0]
    assert len(fake) == len("user1@mail1.example.com") and fake.endswith(".com")
    assert "example" not in fake
    was = dict(before("SELECT id, created FROM users"))
    now = dict(after("SELECT id, created FROM users"))
    offsets = {_when(now[i]) - _when(was[i]) for i in was}
    assert len(offsets) == 1, "one offset for every date"
    (offset,) = offsets
    assert offset and abs(offset) <= datetime.timedelta(days=30)


def _when(value: Any) -> datetime.datetime:
    return value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(value)


def check_record(found: RegisteredDataset, rules_text: str = RULES) -> None:
    assert found.tables == {
        "assay_schema_history": len(VERSIONS),
        "django_migrations": len(MIGRATIONS),
        "orders": ORDERS,
        "users": USERS,
    }
    assert found.schema_version == {
        "django": {"auth": "0012_alter_user", "shop": "0002_orders"},
        "assay_schema_history": "10",
    }
    assert found.anonymized == [
        "orders.user_email", "orders.note", "users.email", "users.name", "users.bio",
        "users.created",
    ]  # fmt: skip
    assert found.rules_digest == rules_digest(parse_rules(rules_text))
    assert found.rules_digest != rules_digest(parse_rules(rules_text + "  users.bio2: keep\n"))
    assert found.size_bytes > 0


# --- PostgreSQL ----------------------------------------------------------------------------------

PG_SCHEMA = """
CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL UNIQUE, name text, bio text,
                    created timestamptz NOT NULL, country text);
CREATE TABLE orders (id int PRIMARY KEY, user_email text REFERENCES users (email), note text);
CREATE INDEX orders_user_email ON orders (user_email);
CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255), name varchar(255),
                                applied timestamptz);
CREATE TABLE assay_schema_history (version varchar(50) PRIMARY KEY, description varchar(200));
-- Would refuse the anonymizing UPDATEs if it were there then: it comes after them.
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'users are append-only'; END $$;
CREATE TRIGGER users_append_only BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE MATERIALIZED VIEW user_names AS SELECT DISTINCT name FROM users;
"""


def unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def pg_source(request: pytest.FixtureRequest) -> Iterator[str]:
    with server_database(request, unique("assay_ds_src")) as info:
        with psycopg.connect(info) as conn:
            conn.execute(PG_SCHEMA)
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO users VALUES (%s, %s, %s, %s, %s, %s)", users())
                cur.executemany("INSERT INTO orders VALUES (%s, %s, %s)", orders())
                cur.executemany(
                    "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, now())",
                    MIGRATIONS,
                )
                cur.executemany(
                    "INSERT INTO assay_schema_history VALUES (%s, 'step')", [(v,) for v in VERSIONS]
                )
        yield info


@pytest.fixture(scope="module")
def admin(pg_source: str) -> str:
    return make_conninfo(pg_source, dbname="postgres")


def pg_fetch(conninfo: str) -> Fetch:
    def fetch(query: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(conninfo) as conn:
            return conn.execute(query).fetchall()

    return fetch


def exists(admin: str, name: str) -> bool:
    with psycopg.connect(admin) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchall())


@pytest.fixture(scope="module")
def registered(pg_source: str, admin: str) -> Iterator[RegisteredDataset]:
    name = unique("assay_ds_tpl")
    steps: list[str] = []
    try:
        found = register_postgresql(
            pg_source, admin, name, parse_rules(RULES), SECRET, progress=steps.append
        )
        print(f"\nregistered {name} in {found.seconds:.2f} s: {found.size_bytes} bytes, {steps}")
        yield found
    finally:
        drop(admin, name)


@pytest.fixture
def pg_clone(admin: str, registered: RegisteredDataset) -> Iterator[str]:
    name = unique("assay_ds_clone")
    started = time.monotonic()
    info = clone(admin, registered.name, name)
    print(f"\ncloned {registered.name} in {time.monotonic() - started:.3f} s")
    yield info
    drop(admin, name)


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_a_registered_postgresql_dataset_is_anonymized_and_keeps_its_shape(
    pg_source: str, registered: RegisteredDataset, pg_clone: str
) -> None:
    check_record(registered)
    check_anonymized(pg_fetch(pg_source), pg_fetch(pg_clone))
    with psycopg.connect(pg_clone) as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("INSERT INTO orders VALUES (0, 'nobody@example.com', NULL)")
        conn.rollback()
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO users SELECT 0, email, name, bio, created, country FROM users LIMIT 1"
            )
        conn.rollback()
        # Refreshed after the anonymization: no real name in it.
        names = conn.execute("SELECT name FROM user_names").fetchall()
        assert (
            sorted(names) == conn.execute("SELECT DISTINCT name FROM users ORDER BY 1").fetchall()
        )
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE users SET country = 'NL'")
        conn.rollback()
        # The constraints and the index were rebuilt after the anonymization, not lost.
        assert (
            conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'orders'").fetchone()[0]
            == 2
        )


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_the_template_takes_no_connections_but_clones_and_drops(
    admin: str, registered: RegisteredDataset
) -> None:
    with pytest.raises(psycopg.OperationalError, match="not currently accepting connections"):
        psycopg.connect(make_conninfo(admin, dbname=registered.name))
    names = [unique("assay_ds_c"), unique("assay_ds_c")]
    for name in names:
        started = time.monotonic()
        info = clone(admin, registered.name, name)
        print(f"\nclone {name}: {time.monotonic() - started:.3f} s")
        assert pg_fetch(info)("SELECT count(*) FROM orders") == [(ORDERS,)]
    with pytest.raises(DatasetError, match=f"^database {names[0]} already exists$"):
        clone(admin, registered.name, names[0])
    for name in names:
        started = time.monotonic()
        drop(admin, name)
        print(f"drop {name}: {time.monotonic() - started:.3f} s")
        assert not exists(admin, name)
    drop(admin, names[0])  # gone already: nothing to do
    with pytest.raises(DatasetError, match="^no dataset assay_no_such_template on the server$"):
        clone(admin, "assay_no_such_template", names[0])
    with pytest.raises(DatasetError, match="^invalid database name"):
        clone(admin, registered.name, 'x"; DROP DATABASE postgres; --')


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "",
            "strict anonymization: no rule for orders.note, users.bio (add a rule or `keep`)",
        ),
        (
            "  users.bio: text\n  orders.note: keep\n  users.emial: email\n",
            "the rules name columns the source does not have: users.emial",
        ),
    ],
)
def test_strict_mode_refuses_before_anything_is_made(
    pg_source: str, admin: str, extra: str, message: str
) -> None:
    rules = RULES.replace("  users.bio: text\n", "").replace("  orders.note: text\n", "") + extra
    name = unique("assay_ds_strict")
    with pytest.raises(DatasetError) as caught:
        register_postgresql(pg_source, admin, name, parse_rules(rules), SECRET)
    assert str(caught.value) == message
    assert not exists(admin, name)


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
@pytest.mark.parametrize(
    ("bad", "start"),
    [
        (
            "host=127.0.0.1 port=1 dbname=nowhere user=nobody password=hunter2 connect_timeout=3",
            "source unreachable (",
        ),
        ("host=127.0.0.1 password=hunter2 nonsense", "source: invalid PostgreSQL conninfo"),
    ],
)
def test_an_unreachable_source_is_one_line_and_makes_nothing(
    admin: str, bad: str, start: str
) -> None:
    name = unique("assay_ds_bad")
    with pytest.raises(DatasetError) as caught:
        register_postgresql(bad, admin, name, parse_rules(RULES), SECRET)
    text = str(caught.value)
    print(f"\n{text}")
    assert text.startswith(start) and "\n" not in text
    assert "hunter2" not in text
    assert not exists(admin, name)


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_an_existing_database_is_a_clash_and_is_left_alone(pg_source: str, admin: str) -> None:
    name = unique("assay_ds_taken")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with pytest.raises(DatasetError, match=f"^database {name} already exists$"):
            register_postgresql(pg_source, admin, name, parse_rules(RULES), SECRET)
        assert exists(admin, name)
    finally:
        drop(admin, name)


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
@pytest.mark.parametrize(
    ("change", "broken"),
    [
        ("  users.email: {constant: same@example.com}", "users_email_key"),  # a unique key
        ("  orders.user_email: hash", "orders_user_email_fkey"),  # one side of a foreign key
    ],
)
def test_rules_that_break_a_constraint_leave_no_database(
    pg_source: str, admin: str, change: str, broken: str
) -> None:
    key = change.split(":")[0]
    rules = "\n".join(change if line.startswith(f"{key}:") else line for line in RULES.split("\n"))
    name = unique("assay_ds_broken")
    with pytest.raises(DatasetError) as caught:
        register_postgresql(pg_source, admin, name, parse_rules(rules), SECRET)
    text = str(caught.value)
    print(f"\n{text}")
    assert text.startswith("indexes and constraints do not hold on the anonymized rows")
    assert broken in text and "\n" not in text
    assert not exists(admin, name)


# --- SQLite --------------------------------------------------------------------------------------

SQLITE_SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT, bio TEXT,
                    created TIMESTAMP NOT NULL, country TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_email TEXT REFERENCES users (email), note TEXT);
CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app TEXT, name TEXT, applied TEXT);
CREATE TABLE assay_schema_history (version TEXT PRIMARY KEY, description TEXT);
"""


@pytest.fixture
def lite_source(tmp_path: Path) -> Path:
    path = tmp_path / "source.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(SQLITE_SCHEMA)
        conn.executemany(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
            [(*row[:4], row[4].strftime("%Y-%m-%d %H:%M:%S"), row[5]) for row in users()],
        )
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", orders())
        conn.executemany(
            "INSERT INTO django_migrations (app, name, applied) VALUES (?, ?, '2024-01-01')",
            MIGRATIONS,
        )
        conn.executemany(
            "INSERT INTO assay_schema_history VALUES (?, 'step')", [(v,) for v in VERSIONS]
        )
    conn.close()
    return path


def lite_fetch(path: Path) -> Fetch:
    def fetch(query: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(path) as conn:
            rows = conn.execute(query).fetchall()
        conn.close()
        return rows

    return fetch


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_a_registered_sqlite_dataset_is_anonymized_and_keeps_its_shape(
    lite_source: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "datasets" / "shop.sqlite3"
    dest.parent.mkdir()
    found = register_sqlite(lite_source, dest, parse_rules(RULES), SECRET)
    print(f"\nregistered {dest.name} in {found.seconds:.2f} s: {found.size_bytes} bytes")
    check_record(found)
    assert found.name == str(dest) and found.size_bytes == dest.stat().st_size
    check_anonymized(lite_fetch(lite_source), lite_fetch(dest))
    assert lite_fetch(dest)("PRAGMA foreign_key_check") == []
    assert lite_fetch(dest)("PRAGMA journal_mode") == [("delete",)]
    assert leftovers(dest.parent) == []
    # The same secret gives the same fakes: a dataset registered twice is the same data.
    again = register_sqlite(lite_source, tmp_path / "again.sqlite3", parse_rules(RULES), SECRET)
    query = "SELECT * FROM users ORDER BY id"
    assert lite_fetch(Path(again.name))(query) == lite_fetch(dest)(query)

    started = time.monotonic()
    copy = clone_sqlite(dest, tmp_path / "clone.sqlite3")
    print(f"cloned in {time.monotonic() - started:.4f} s")
    assert Path(copy).read_bytes() == dest.read_bytes()
    with pytest.raises(DatasetError, match="clone.sqlite3 already exists$"):
        clone_sqlite(dest, copy)
    with pytest.raises(DatasetError, match="shop.sqlite3 already exists$"):
        register_sqlite(lite_source, dest, parse_rules(RULES), SECRET)


def test_sqlite_strict_mode_refuses_before_anything_is_made(
    lite_source: Path, tmp_path: Path
) -> None:
    rules = RULES.replace("  users.bio: text\n", "").replace("  orders.note: text\n", "")
    dest = tmp_path / "strict.sqlite3"
    with pytest.raises(DatasetError) as caught:
        register_sqlite(lite_source, dest, parse_rules(rules), SECRET)
    assert str(caught.value) == (
        "strict anonymization: no rule for orders.note, users.bio (add a rule or `keep`)"
    )
    assert not dest.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "  users.email: {constant: same@example.com}",
            "anonymizing users.email failed: UNIQUE constraint failed: users.email",
        ),
        (
            "  orders.user_email: hash",
            "foreign keys no longer hold after anonymization: orders -> users",
        ),
        (
            "  users.name: shift",
            "users.name: the shift rule cannot map one of its values (not shown: it may be "
            "personal)",
        ),
    ],
)
def test_sqlite_rules_that_break_the_data_leave_no_file(
    lite_source: Path, tmp_path: Path, change: str, message: str
) -> None:
    key = change.split(":")[0]
    rules = "\n".join(change if line.startswith(f"{key}:") else line for line in RULES.split("\n"))
    dest = tmp_path / "broken.sqlite3"
    with pytest.raises(DatasetError) as caught:
        register_sqlite(lite_source, dest, parse_rules(rules), SECRET)
    assert str(caught.value) == message
    assert not dest.exists() and leftovers(tmp_path) == []


def test_a_missing_or_unreadable_sqlite_source_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="^source database .*nowhere.sqlite3 not found$"):
        register_sqlite(
            tmp_path / "nowhere.sqlite3", tmp_path / "d.sqlite3", parse_rules(""), SECRET
        )
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(DatasetError, match="^source .*junk.sqlite3 unreadable: ") as caught:
        register_sqlite(junk, tmp_path / "d.sqlite3", parse_rules(""), SECRET)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "d.sqlite3").exists() and leftovers(tmp_path) == []
