"""querygen/engine/schema.py: the schema two engines agree on, and the report of the rest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

from querygen.engine.engines import CatalogColumn, DuckDBClient, PostgresClient, SQLiteClient
from querygen.engine.model import Schema, SqlType
from querygen.engine.schema import (
    LeftOut,
    common_schema,
    describe_differences,
    match_catalogs,
    match_schemas,
)
from tests.querygen.conftest import QUERYGEN_TABLES, table


def test_sqlite_and_duckdb_copies_of_querygen_agree_on_everything(
    querygen_sqlite: Path, querygen_duckdb: Path
) -> None:
    with SQLiteClient(querygen_sqlite) as lite, DuckDBClient(querygen_duckdb) as duck:
        match = match_schemas(lite, duck)
        assert match.schema == Schema(tuple(QUERYGEN_TABLES))
        assert match.left_out == ()
        # SQLite's NUMERIC(18,4) and DuckDB's DECIMAL(18,4) are both DECIMAL.
        amounts = [
            c
            for e in (lite, duck)
            for c in e.catalog()
            if (c.table, c.column) == ("numbers", "amount")
        ]
        assert [c.engine_type for c in amounts] == ["NUMERIC(18,4)", "DECIMAL(18,4)"]
        assert common_schema(duck, lite) == match.schema  # the same order either way round
        assert common_schema(lite, duck) == match.schema
        report = describe_differences(match)
        assert report == (
            "common schema of sqlite:querygen.sqlite and duckdb:querygen.duckdb: "
            "5 tables, 28 columns; 0 left out"
        )


@pytest.fixture
def differing(tmp_path: Path) -> tuple[Path, Path]:
    """A SQLite and a DuckDB file that disagree in every way schema.py knows of."""
    lite_path, duck_path = tmp_path / "a.sqlite", tmp_path / "b.duckdb"
    lite = sqlite3.connect(lite_path)
    lite.executescript(
        """
        CREATE TABLE Shared (id INTEGER, amount NUMERIC(10,2), only_sqlite TEXT, raw BLOB,
                             x INTEGER, Mixed TEXT, seen TIMESTAMP);
        CREATE TABLE only_in_sqlite (a INT);
        CREATE TABLE nothing_alike (a TEXT, b BLOB);
        """
    )
    lite.close()
    duck = duckdb.connect(str(duck_path))
    duck.execute(
        "CREATE TABLE shared (seen TIMESTAMP, ID BIGINT, amount DECIMAL(10,2), only_duck VARCHAR, "
        "raw BLOB, x VARCHAR, mixed VARCHAR)"
    )
    duck.execute("CREATE TABLE only_in_duckdb (a INTEGER)")
    duck.execute("CREATE TABLE nothing_alike (a INTEGER, b BLOB)")
    duck.close()
    return lite_path, duck_path


def test_what_differs_is_left_out_and_reported(differing: tuple[Path, Path]) -> None:
    lite_path, duck_path = differing
    with SQLiteClient(lite_path, name="lite") as lite, DuckDBClient(duck_path, name="duck") as duck:
        match = match_schemas(lite, duck)
    # Names as the first engine spells them, columns in its order.
    assert match.schema == Schema(
        (table("Shared", "id:int amount:decimal Mixed:text seen:timestamp"),)
    )
    assert [str(item) for item in match.left_out] == [
        "table nothing_alike: no column in common",
        "nothing_alike.a: types differ: lite TEXT (text), duck INTEGER (int)",
        "nothing_alike.b: not tested: lite BLOB (not tested), duck BLOB (not tested)",
        "table only_in_duckdb: only in duck",
        "table only_in_sqlite: only in lite",
        "Shared.only_duck: only in duck",
        "Shared.only_sqlite: only in lite",
        "Shared.raw: not tested: lite BLOB (not tested), duck BLOB (not tested)",
        "Shared.x: types differ: lite INTEGER (int), duck VARCHAR (text)",
    ]
    report = describe_differences(match).splitlines()
    assert report[0] == "common schema of lite and duck: 1 tables, 4 columns; 9 left out"
    assert report[1:] == [f"  {item}" for item in match.left_out]


def column(t: str, c: str, engine_type: str, sql_type: SqlType | None) -> CatalogColumn:
    return CatalogColumn(t, c, engine_type, sql_type)


def test_names_that_differ_only_in_case_on_one_side_are_ambiguous() -> None:
    # PostgreSQL can hold "t" and "T"; SQLite and DuckDB cannot tell them apart.
    pg = [
        column("T", "c", "integer", SqlType.INT),
        column("t", "c", "integer", SqlType.INT),
        column("u", "c", "integer", SqlType.INT),
        column("u", "C", "text", SqlType.TEXT),
        column("u", "d", "date", SqlType.DATE),
    ]
    lite = [
        column("t", "c", "INT", SqlType.INT),
        column("u", "c", "INT", SqlType.INT),
        column("u", "d", "DATE", SqlType.DATE),
    ]
    match = match_catalogs(lite, pg, a_name="lite", b_name="pg", prefer_b=True)
    assert match.schema == Schema((table("u", "d:date"),))
    assert set(match.left_out) == {
        LeftOut("T", None, "2 names differ only in case in pg: T, t"),
        LeftOut("t", None, "2 names differ only in case in pg: T, t"),
        LeftOut("t", None, "ambiguous in pg"),
        LeftOut("u", "c", "2 names differ only in case in pg: c, C"),
        LeftOut("u", "C", "2 names differ only in case in pg: c, C"),
        LeftOut("u", "c", "ambiguous in pg"),
    }


def test_the_case_sensitive_engines_spelling_wins() -> None:
    duck = [column("numbers", "amount", "DECIMAL(18,4)", SqlType.DECIMAL)]
    pg = [column("Numbers", "Amount", "numeric", SqlType.DECIMAL)]
    kept = match_catalogs(duck, pg, prefer_b=True).schema
    assert kept == Schema((table("Numbers", "Amount:decimal"),))
    assert match_catalogs(duck, pg).schema == Schema((table("numbers", "amount:decimal"),))


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgres_and_duckdb_copies_of_querygen_agree_on_everything(
    querygen_pg: str, querygen_duckdb: Path
) -> None:
    with PostgresClient(querygen_pg) as pg, DuckDBClient(querygen_duckdb) as duck:
        match = match_schemas(duck, pg)
        assert match.schema == Schema(tuple(QUERYGEN_TABLES))
        assert match.left_out == ()
        assert common_schema(pg, duck) == match.schema
