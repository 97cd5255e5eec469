"""dbkinds/sqlite.py against real SQLite files in tmp_path."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbkinds import base
from dbkinds import sqlite as db
from dbkinds.base import ErrorKind
from tests.dbkinds import checks


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite"


@pytest.fixture
def conn(path: Path) -> Iterator[sqlite3.Connection]:
    connection = db.connect(str(path))
    yield connection
    connection.close()


def test_awkward_names_are_quoted(conn: sqlite3.Connection) -> None:
    checks.check_awkward_names_are_quoted(db, conn)


def test_type_names_round_trip(conn: sqlite3.Connection) -> None:
    checks.check_type_names_round_trip(db, conn)


def test_the_catalog_leaves_out_the_ledger(conn: sqlite3.Connection) -> None:
    checks.check_the_catalog_leaves_out_the_ledger(db, conn)


def test_transactions(conn: sqlite3.Connection) -> None:
    checks.check_transactions(db, conn)


def test_a_primary_key_can_be_added_as_said(conn: sqlite3.Connection) -> None:
    checks.check_a_primary_key_can_be_added_as_said(db, conn)


def test_read_write_is_autocommit_and_read_only_refuses_writes(path: Path) -> None:
    writer = db.connect(str(path))
    writer.execute("CREATE TABLE t (v INT)")
    assert writer.isolation_level is None and not writer.in_transaction
    writer.close()
    reader = db.connect(str(path), read_only=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):  # query_only: temp too
        reader.execute("CREATE TEMP TABLE scratch (v INT)")
    assert db.version(reader).startswith("SQLite 3.")
    reader.close()


def test_read_only_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(sqlite3.DatabaseError) as raised:
        db.connect(str(junk), read_only=True)
    assert db.error_kind(raised.value) == ErrorKind.INTERNAL
    with pytest.raises(sqlite3.OperationalError):  # and never creates a missing one
        db.connect(str(tmp_path / "missing.sqlite"), read_only=True)
    assert not (tmp_path / "missing.sqlite").exists()


def test_identifiers_are_one_whatever_their_case(conn: sqlite3.Connection) -> None:
    conn.execute(f"CREATE TABLE {db.quote('T')} (v INT)")
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        conn.execute(f"CREATE TABLE {db.quote('t')} (v INT)")
    assert db.identifier_key("T") == db.identifier_key("t")
    assert [c.name for c in db.columns(conn, "t")] == ["v"]  # SQLite finds "T" too


def test_internal_tables_and_primary_keys_in_the_catalog(conn: sqlite3.Connection) -> None:
    # AUTOINCREMENT creates SQLite's own sqlite_sequence table: never listed.
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n TEXT NOT NULL, x)")
    assert db.list_tables(conn, include_ledger=True) == ["t"]
    found = [(c.name, c.declared, c.nullable, c.position) for c in db.columns(conn, "t")]
    assert found == [("id", "INTEGER", False, 1), ("n", "TEXT", False, 2), ("x", "", True, 3)]


def test_errors_are_classified(conn: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.OperationalError) as syntax:
        conn.execute("SELEC 1")
    assert db.error_kind(syntax.value) == ErrorKind.ERROR
    conn.set_progress_handler(lambda: 1, 100)  # a nonzero answer abandons the statement
    with pytest.raises(sqlite3.OperationalError) as interrupted:
        conn.execute(
            "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r"
        ).fetchall()
    conn.set_progress_handler(None, 0)
    assert db.error_kind(interrupted.value) == ErrorKind.INTERRUPTED


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("INT", base.INT),
        ("BIGINT", base.INT),
        ("SMALLINT", base.INT),
        ("INTEGER", base.INT),
        ("UNSIGNED BIG INT", base.INT),
        ("FLOAT4", base.FLOAT),
        ("DOUBLE", base.FLOAT),
        ("REAL", base.FLOAT),
        ("FLOAT", base.FLOAT),
        ("DOUBLE PRECISION", base.FLOAT),
        ("NUMERIC(18,4)", base.DECIMAL),
        ("NUMERIC", base.DECIMAL),
        ("DECIMAL(10, 2)", base.DECIMAL),
        ("TEXT", base.TEXT),
        ("VARCHAR(20)", base.TEXT),
        ("CHAR(3)", base.TEXT),
        ("CLOB", base.TEXT),
        ("BOOLEAN", base.BOOL),
        ("DATE", base.DATE),
        ("TIMESTAMP", base.TIMESTAMP),
        ("DATETIME", base.TIMESTAMP),
        ("boolean", base.BOOL),
        ("BLOB", None),
        ("", None),
        ("JSON", None),
        ("TIMESTAMP WITH TIME ZONE", None),
    ],
)
def test_declared_types_families(declared: str, expected: str | None) -> None:
    """The names datagen declares keep their meaning; the rest follows SQLite's affinity."""
    assert db.type_family(declared) == expected


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("INTEGER", base.INT64),  # 64 bits in SQLite, whatever other engines say
        ("int", base.INT32),
        ("  double   precision ", base.FLOAT64),
        ("NVARCHAR(12)", base.STRING),
        ("DECIMAL(10)", base.decimal(10, 0)),
        ("DATETIME", base.TIMESTAMP_TYPE),
        ("UNSIGNED BIG INT", None),  # an INT by affinity, but of no exact width
        ("NUMERIC", None),
        ("BLOB", None),
    ],
)
def test_declared_types_exactly(declared: str, expected: base.NeutralType | None) -> None:
    assert db.column_type(declared) == expected
