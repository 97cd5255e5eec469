"""database.py: querygen's own small databases, the same from (seed, number) anywhere, loaded
for real into DuckDB and SQLite in memory, and written out as reproducer scripts."""

from __future__ import annotations

import math
import sqlite3
from collections import Counter

import duckdb
import pytest

from querygen.engine import worker
from querygen.engine.database import (
    INT_EDGES,
    Database,
    DatabaseSettings,
    Index,
    TableData,
    View,
    generate_database,
    literal,
    script,
)
from querygen.engine.engines import DuckDBClient, PostgresClient, SQLiteClient
from querygen.engine.model import Column, SqlType

PAIR = ("duckdb", "sqlite")


def test_a_database_is_made_again_from_its_seed_and_number() -> None:
    a = generate_database(5, 3, dialects=PAIR)
    assert a == generate_database(5, 3, dialects=PAIR)
    assert a.statements("duckdb") == generate_database(5, 3, dialects=PAIR).statements("duckdb")
    others = {generate_database(5, n, dialects=PAIR) for n in range(10)}
    assert len(others) == 10


def test_databases_have_what_bugs_need() -> None:
    """Over many databases: 1-4 tables of 1-6 columns, at most 12 rows each, NULLs,
    duplicate rows, edge values, keys, NOT NULL columns, indexes and views."""
    seen: Counter[str] = Counter()
    for n in range(200):
        db = generate_database(1, n, dialects=("duckdb", "postgres"))
        assert 1 <= len(db.tables) <= 4
        for t in db.tables:
            assert 1 <= len(t.columns) <= 7  # an "id" key and up to 6 others
            assert len(t.rows) <= 12
            values = [v for row in t.rows for v in row]
            seen["null"] += any(v is None for v in values)
            seen["duplicate"] += len(set(map(repr, t.rows))) < len(t.rows)
            seen["int edge"] += any(type(v) is int and v in INT_EDGES for v in values)
            seen["nan"] += any(isinstance(v, float) and math.isnan(v) for v in values)
            seen["key"] += t.primary_key is not None
            seen["not null"] += bool(t.not_null)
            for c in t.not_null:
                position = [col.name for col in t.columns].index(c)
                assert all(row[position] is not None for row in t.rows)
        seen["index"] += bool(db.indexes)
        seen["view"] += bool(db.views)
        seen["empty table"] += any(not t.rows for t in db.tables)
    assert all(seen[k] > 0 for k in (
        "null", "duplicate", "int edge", "nan", "key", "not null", "index", "view", "empty table"
    )), seen  # fmt: skip


def test_no_nan_where_a_dialect_has_none() -> None:
    for n in range(200):
        for t in generate_database(1, n, dialects=PAIR).tables:
            assert not any(isinstance(v, float) and not math.isfinite(v) for r in t.rows for v in r)


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])
def test_every_database_loads_and_reads_back_as_generated(dialect: str) -> None:
    """In a real engine: the catalog's types map back to the generated SqlTypes, and every
    value reads back as it was generated (the comparison's normal form of it)."""
    engine = (DuckDBClient if dialect == "duckdb" else SQLiteClient)(worker.MEMORY)
    previous = None
    try:
        for n in range(60):
            db = generate_database(2, n, dialects=(dialect,))
            drop = previous.drop_statements() if previous else None
            outcome = engine.load(db.statements(dialect), drop=drop)
            assert outcome.ok, outcome.error
            previous = db
            catalog = {(c.table, c.column): c.type for c in engine.catalog()}
            for t in db.tables:
                for c in t.columns:
                    assert catalog[(t.name, c.name)] == c.type, (dialect, t.name, c)
                got = engine.execute(f'SELECT * FROM "{t.name}"').rows
                assert Counter(map(_normal, got)) == Counter(map(_normal, t.rows)), t.name
            for v in db.views:
                assert engine.execute(f'SELECT * FROM "{v.name}"').ok
    finally:
        engine.close()


# Seeds whose databases 0-200 PostgreSQL must load (the pair a DuckDB-vs-PostgreSQL run has,
# so FLOAT columns hold NaN and the infinities).
PG_SEEDS = (1, 2, 3)
PG_PAIR = ("duckdb", "postgres")


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_every_database_loads_into_postgresql_and_reads_back_as_generated(
    querygen_pg: str,
) -> None:
    """Every type and edge value the generator makes, rendered for PostgreSQL (NaN and the
    infinities, '', unicode, quotes, booleans, DOUBLE PRECISION, keys, NOT NULL, indexes,
    views): each database loads, each table holds its rows, each value reads back."""
    seen: Counter[str] = Counter()
    with PostgresClient(querygen_pg) as engine:
        for seed in PG_SEEDS:
            for n in range(201):
                db = generate_database(seed, n, dialects=PG_PAIR)
                outcome = engine.load(db.statements("postgres"))
                assert outcome.ok, (seed, n, outcome.error)
                catalog = {(c.table, c.column): c.type for c in engine.catalog()}
                for t in db.tables:
                    for c in t.columns:
                        assert catalog[(t.name, c.name)] == c.type, (seed, n, t.name, c)
                    got = engine.execute(f'SELECT * FROM "{t.name}"')
                    assert got.ok and len(got.rows) == len(t.rows), (seed, n, t.name)
                    assert Counter(map(_normal, got.rows)) == Counter(map(_normal, t.rows))
                    values = [v for row in t.rows for v in row]
                    seen["nan"] += any(isinstance(v, float) and math.isnan(v) for v in values)
                    seen["inf"] += any(isinstance(v, float) and math.isinf(v) for v in values)
                    seen["unicode"] += any(isinstance(v, str) and not v.isascii() for v in values)
                    seen["empty text"] += "" in values
                    seen["key"] += t.primary_key is not None
                seen["index"] += bool(db.indexes)
                for v in db.views:
                    seen["view"] += 1
                    assert engine.execute(f'SELECT * FROM "{v.name}"').ok, (seed, n, v)
    assert all(seen[k] > 0 for k in ("nan", "inf", "unicode", "empty text", "key", "index", "view"))


def _normal(row: tuple) -> tuple:
    out = []
    for v in row:
        if isinstance(v, float) and math.isnan(v):
            v = "NaN"
        elif isinstance(v, bool):
            v = int(v)
        elif hasattr(v, "isoformat"):
            v = v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
        elif v is not None and not isinstance(v, str):
            v = float(v)
        out.append(v)
    return tuple(out)


def test_the_reducers_cuts_keep_the_database_loadable() -> None:
    db = Database(
        seed=0,
        number=0,
        tables=(
            TableData(
                "t0",
                (Column("id", SqlType.INT), Column("c1", SqlType.TEXT), Column("c2", SqlType.INT)),
                ((1, "a", 5), (2, None, 6)),
                primary_key="id",
                not_null=frozenset({"c2"}),
            ),
            TableData("t1", (Column("c0", SqlType.INT),), ((1,),)),
        ),
        indexes=(Index("i0", "t0", ("c2",)), Index("i1", "t1", ("c0",))),
        views=(View("v0", "t0", (Column("c1", SqlType.TEXT),), ("c2", ">", 5)),),
    )
    assert db.schema.table("v0").columns == (Column("c1", SqlType.TEXT),)
    slim = db.with_columns("t0", {"c1"})
    assert [c.name for c in slim.table("t0").columns] == ["c1"]
    assert slim.table("t0").rows == (("a",), (None,))
    assert slim.indexes == (Index("i1", "t1", ("c0",)),) and slim.views == ()  # needed c2
    assert db.with_columns("t0", {"c1", "c2"}).views == db.views
    gone = db.without_tables(["t0"])
    assert [t.name for t in gone.tables] == ["t1"] and not gone.views
    assert gone.indexes == (Index("i1", "t1", ("c0",)),)
    assert db.with_rows("t1", []).table("t1").rows == ()
    for candidate in (db, slim, gone, db.without_indexes(), db.with_rows("t0", [])):
        for dialect in PAIR:
            with (DuckDBClient if dialect == "duckdb" else SQLiteClient)(worker.MEMORY) as e:
                assert e.load(candidate.statements(dialect)).ok
    with DuckDBClient(worker.MEMORY) as e:
        assert e.load(db.statements("duckdb")).ok
        assert e.execute('SELECT * FROM "v0"').rows == [(None,)]  # c2 > 5: the row of id 2


def test_literals_read_back_in_every_dialect() -> None:
    conn = duckdb.connect()
    lite = sqlite3.connect(":memory:")
    assert conn.execute(f"SELECT {literal(math.inf, SqlType.FLOAT, 'duckdb')}").fetchone() == (
        math.inf,
    )
    nan = literal(math.nan, SqlType.FLOAT, "duckdb")
    assert math.isnan(conn.execute(f"SELECT {nan}").fetchone()[0])
    quote = literal("it's", SqlType.TEXT, "sqlite")
    assert lite.execute(f"SELECT {quote}").fetchone() == ("it's",)
    assert literal(None, SqlType.DATE, "duckdb") == "NULL"


def test_a_script_runs_as_it_is() -> None:
    db = Database(0, 0, (TableData("t0", (Column("c0", SqlType.TEXT),), (("A",), ("b",))),))
    text = script(db, "sqlite", 'SELECT "c0" FROM "t0" WHERE "c0" LIKE \'a%\'', [("sut", "0 rows")])
    assert text.endswith("-- sut: 0 rows\n")
    lite = sqlite3.connect(":memory:")
    statements = [s for s in text.split(";\n") if s.strip() and not s.startswith("--")]
    *setup, query = statements
    lite.executescript(";\n".join(setup) + ";")
    assert lite.execute(query).fetchall() == [("A",)]
    conn = duckdb.connect()
    duck = script(db, "duckdb", 'SELECT "c0" FROM "t0" WHERE "c0" LIKE \'a%\'')
    conn.execute(duck)  # every statement, the query last
    assert conn.fetchall() == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a mapping"),
        ({"rows": 3}, "unknown setting 'rows'"),
        ({"max_rows": 0}, "max_rows: a whole number >= 1"),
        ({"max_rows": True}, "max_rows: a whole number >= 1"),
        ({"p_null": 2}, "p_null: a probability"),
        ({"type_weights": {"blob": 1}}, "type_weights.blob: not a type"),
        ({"type_weights": {"int": -1}}, "type_weights.int: a weight >= 0"),
        ({"type_weights": {}}, "a mapping of types"),
    ],
)
def test_bad_settings_name_the_key(data, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DatabaseSettings.from_mapping(data)


def test_settings_shape_the_databases() -> None:
    s = DatabaseSettings.from_mapping(
        {"max_tables": 1, "max_columns": 1, "max_rows": 2, "type_weights": {"text": 1}}
    )
    for n in range(30):
        db = generate_database(0, n, s)
        assert len(db.tables) == 1 and all(len(t.rows) <= 2 for t in db.tables)
        assert all(c.type in (SqlType.TEXT, SqlType.INT) for t in db.tables for c in t.columns)
    with pytest.raises(ValueError, match="no generated databases for dialect 'oracle'"):
        generate_database(0, 0, dialects=("oracle",))
