"""What every kind module must do, checked on a real database of that kind.

Each tests/dbkinds/test_<kind>.py calls these with its module and a read-write connection to
an empty database (autocommit), next to the tests of what is particular to that kind.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from dbkinds import LEDGER_TABLE, base

# Names an identifier must survive: quotes, a statement terminator, a keyword, spaces, Unicode.
AWKWARD_TABLE = 'x"; DROP TABLE "victim"; --'
AWKWARD_COLUMNS = ['it"s', "Select", "a b", "ÜmlautCol", "'); DELETE FROM victim; --"]
# Every neutral type a kind can declare, decimals at both ends of what datagen stores.
NEUTRAL_TYPES = [
    base.INT16,
    base.INT32,
    base.INT64,
    base.FLOAT32,
    base.FLOAT64,
    base.decimal(18, 4),
    base.decimal(38, 0),
    base.STRING,
    base.BOOLEAN,
    base.DATE_TYPE,
    base.TIMESTAMP_TYPE,
]


def create(db: ModuleType, conn: Any, table: str, columns: list[tuple[str, str]]) -> None:
    spec = ", ".join(f"{db.quote(name)} {declared}" for name, declared in columns)
    conn.execute(f"CREATE TABLE {db.quote(table)} ({spec})")


def check_awkward_names_are_quoted(db: ModuleType, conn: Any) -> None:
    create(db, conn, "victim", [("id", db.type_name(base.INT32))])
    create(db, conn, AWKWARD_TABLE, [(c, db.type_name(base.STRING)) for c in AWKWARD_COLUMNS])
    names = ", ".join(db.quote(c) for c in AWKWARD_COLUMNS)
    marks = ", ".join([db.PARAM] * len(AWKWARD_COLUMNS))
    conn.execute(
        f"INSERT INTO {db.quote(AWKWARD_TABLE)} ({names}) VALUES ({marks})", AWKWARD_COLUMNS
    )
    assert db.list_tables(conn) == sorted([AWKWARD_TABLE, "victim"])
    assert [c.name for c in db.columns(conn, AWKWARD_TABLE)] == AWKWARD_COLUMNS
    rows = conn.execute(f"SELECT {names} FROM {db.quote(AWKWARD_TABLE)}").fetchall()
    assert [tuple(r) for r in rows] == [tuple(AWKWARD_COLUMNS)]


def check_type_names_round_trip(db: ModuleType, conn: Any) -> None:
    """What type_name declares, the catalog reports back as the same neutral type."""
    columns = [(f"c{i}", db.type_name(t)) for i, t in enumerate(NEUTRAL_TYPES)]
    create(db, conn, "typed", columns)
    found = db.columns(conn, "typed")
    assert [c.name for c in found] == [name for name, _ in columns]
    for column, t in zip(found, NEUTRAL_TYPES, strict=True):
        assert db.column_type(column.declared, column.precision, column.scale) == t, column
        assert db.type_family(column.declared) == t.family, column


def check_the_catalog_leaves_out_the_ledger(db: ModuleType, conn: Any) -> None:
    create(db, conn, "b", [("z", db.type_name(base.INT64)), ("a", db.type_name(base.STRING))])
    create(db, conn, "B2", [("only", db.type_name(base.DATE_TYPE))])
    create(db, conn, LEDGER_TABLE, [("run", db.type_name(base.STRING))])
    conn.execute(f"CREATE VIEW {db.quote('a_view')} AS SELECT 1 AS x")
    # Python's order (upper case first), the same on every kind; views are not tables.
    assert db.list_tables(conn) == ["B2", "b"]
    assert db.list_tables(conn, include_ledger=True) == ["B2", LEDGER_TABLE, "b"]
    found = [(c.table, c.name, c.position, c.nullable) for c in db.catalog(conn)]
    assert found == [("B2", "only", 1, True), ("b", "z", 1, True), ("b", "a", 2, True)]


def check_transactions(db: ModuleType, conn: Any) -> None:
    create(db, conn, "t", [("v", db.type_name(base.INT32))])
    insert = f"INSERT INTO {db.quote('t')} ({db.quote('v')}) VALUES ({db.PARAM})"
    with db.transaction(conn):
        assert db.changed_rows(conn, insert, [1]) == 1
        assert db.changed_rows(conn, insert, [2]) == 1
    with pytest.raises(RuntimeError), db.transaction(conn):
        db.changed_rows(conn, insert, [3])
        raise RuntimeError("rolled back")
    rows = conn.execute(f"SELECT {db.quote('v')} FROM {db.quote('t')} ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == [1, 2]
    delete = f"DELETE FROM {db.quote('t')} WHERE {db.quote('v')} > {db.PARAM}"  # noqa: S608
    assert db.changed_rows(conn, delete, [0]) == 2
    assert db.changed_rows(conn, delete, [0]) == 0


def check_a_primary_key_can_be_added_as_said(db: ModuleType, conn: Any) -> None:
    """can_add_primary_key says whether ALTER TABLE ... ADD PRIMARY KEY works."""
    create(db, conn, "k", [("id", db.type_name(base.INT64) + " NOT NULL")])
    alter = f"ALTER TABLE {db.quote('k')} ADD PRIMARY KEY ({db.quote('id')})"
    if db.can_add_primary_key():
        conn.execute(alter)
        assert [c.nullable for c in db.columns(conn, "k")] == [False]
    else:
        with pytest.raises(Exception, match="syntax error"):
            conn.execute(alter)
