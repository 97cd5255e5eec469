"""dbkinds/postgresql.py: conninfo handling here, the rest (PostgreSQL pass, ``--db=postgresql``)
against the server of tests/postgres_plugin.py, in a schema of its own per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dbkinds import base
from dbkinds import postgresql as db
from dbkinds.base import ErrorKind
from tests.dbkinds import checks

PG_ONLY = [pytest.mark.db_dependent, pytest.mark.postgresql_only]


# --- conninfo -----------------------------------------------------------------------------------


def test_conninfo_quotes_every_value_as_libpq_reads_it() -> None:
    params = {"host": "db.example", "port": 5433, "user": "", "password": "s3cr'et\\x y"}
    built = db.conninfo(params)
    assert built == "host='db.example' port='5433' password='s3cr\\'et\\\\x y'"
    # libpq's own parser reads back what was meant; the empty user is left out.
    assert conninfo_to_dict(built) == {
        "host": "db.example",
        "port": "5433",
        "password": "s3cr'et\\x y",
    }


def test_a_conninfo_is_described_without_its_password() -> None:
    described = db.describe("host=127.0.0.1 port=1 user=u password=hunter2 dbname=d")
    assert "hunter2" not in described and "dbname=d" in described
    assert "hunter2" not in db.describe("postgresql://u:hunter2@127.0.0.1:1/d")
    described = db.describe("host=h sslpassword=hunter2 sslmode=require dbname=d")
    assert "hunter2" not in described and "sslmode=require" in described
    # libpq expands a dbname that is itself a conninfo or a URL
    assert "hunter2" not in db.describe("host=h dbname='postgresql://u:hunter2@h/d'")
    assert "hunter2" not in db.describe("host=h dbname='user=u password=hunter2'")
    assert db.describe("host=x password=hunter2 dbname") == "<unparsable conninfo>"
    with pytest.raises(ValueError, match="not shown") as raised:
        db.conninfo_params("host=x password=hunter2 dbname")
    assert "hunter2" not in str(raised.value) and raised.value.__suppress_context__
    assert db.conninfo_params("host=x dbname=d") == {"host": "x", "dbname": "d"}


# --- a real server ------------------------------------------------------------------------------


@pytest.fixture
def conninfo(request: pytest.FixtureRequest) -> Iterator[str]:
    """A conninfo whose search_path is a fresh schema, dropped afterwards."""
    proc = request.getfixturevalue("assay_postgresql_proc")
    server = make_conninfo(host=proc.host, port=proc.port, user=proc.user, dbname="postgres")
    schema = sql.Identifier(f"dbkinds_{uuid.uuid4().hex[:12]}")
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    yield make_conninfo(server, options=f"-c search_path={schema.as_string()}")
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))


@pytest.fixture
def conn(conninfo: str) -> Iterator[Any]:
    connection = db.connect(conninfo)
    yield connection
    connection.close()


@pytest.mark.parametrize(
    "check",
    [
        checks.check_awkward_names_are_quoted,
        checks.check_type_names_round_trip,
        checks.check_the_catalog_leaves_out_the_ledger,
        checks.check_transactions,
        checks.check_a_primary_key_can_be_added_as_said,
    ],
)
@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_what_every_kind_does(check: Any, conn: Any) -> None:
    check(db, conn)


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_read_write_sessions_pin_what_copy_text_depends_on(conn: Any) -> None:
    assert conn.autocommit
    shown = [
        conn.execute(f"SHOW {name}").fetchone()[0]
        for name in ("client_encoding", "DateStyle", "extra_float_digits")
    ]
    assert shown == ["UTF8", "ISO, YMD", "3"]
    assert db.version(conn).startswith("PostgreSQL ")


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_read_only_sessions_refuse_writes_even_after_a_set(conn: Any, conninfo: str) -> None:
    conn.execute("CREATE TABLE t (v integer)")
    reader = db.connect(conninfo, read_only=True)
    try:
        assert not reader.autocommit
        reader.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            reader.execute("INSERT INTO t VALUES (1)")  # psycopg began it READ ONLY
        reader.rollback()
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            reader.execute("INSERT INTO t VALUES (1)")  # and the SET was rolled back
        reader.rollback()
    finally:
        reader.close()


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_the_catalog_keeps_case_and_only_this_schema(conn: Any) -> None:
    conn.execute('CREATE TABLE "T" (v integer)')
    conn.execute('CREATE TABLE "t" (n numeric(5, 2) NOT NULL, bare numeric, c char(3))')
    conn.execute("CREATE TEMP TABLE scratch (v integer)")  # in pg_temp, not the schema
    assert db.list_tables(conn) == ["T", "t"]
    assert db.identifier_key("T") != db.identifier_key("t")
    found = db.columns(conn, "t")
    assert found[0] == base.Column("t", "n", "numeric", False, 1, 5, 2)
    types = [db.column_type(c.declared, c.precision, c.scale) for c in found]
    assert types == [base.decimal(5, 2), None, base.STRING]  # a bare numeric has no scale


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_errors_are_classified(conn: Any) -> None:
    cases = {
        "SELEC 1": ErrorKind.ERROR,
        "SELECT 1 / 0": ErrorKind.ERROR,
        "SET statement_timeout = 50; SELECT pg_sleep(5)": ErrorKind.INTERRUPTED,
        "DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = 'internal_error'; END $$": (
            ErrorKind.INTERNAL
        ),
        "DO $$ BEGIN RAISE EXCEPTION 'bad page' USING ERRCODE = 'XX001'; END $$": (
            ErrorKind.INTERNAL
        ),
    }
    for statement, expected in cases.items():
        with pytest.raises(psycopg.Error) as raised:
            conn.execute(statement)
        assert db.error_kind(raised.value) == expected, statement
        conn.execute("RESET statement_timeout")


@pytest.mark.parametrize(
    ("data_type", "expected"),
    [
        ("smallint", base.INT),
        ("integer", base.INT),
        ("bigint", base.INT),
        ("real", base.FLOAT),
        ("double precision", base.FLOAT),
        ("numeric", base.DECIMAL),
        ("text", base.TEXT),
        ("character varying", base.TEXT),
        ("character", base.TEXT),
        ("boolean", base.BOOL),
        ("date", base.DATE),
        ("timestamp without time zone", base.TIMESTAMP),
        ("timestamp with time zone", None),
        ("bytea", None),
        ("json", None),
        ("USER-DEFINED", None),
    ],
)
def test_data_types_families(data_type: str, expected: str | None) -> None:
    assert db.type_family(data_type) == expected
