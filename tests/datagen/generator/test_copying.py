"""datagen/generator/copying.py: copy_between across engines, in batches, keys and indexes
after the data (PostgreSQL cases in the PostgreSQL pass)."""

from __future__ import annotations

import math
from collections.abc import Callable

import duckdb
import pyarrow as pa
import pytest

from datagen.generator import copying, loaders
from datagen.generator.loaders import (
    InvalidIdentifier,
    LoaderError,
    LoadFailed,
    TableExists,
    Target,
)
from tests.datagen.generator.factories import (
    AWKWARD_TABLE,
    PG_ONLY,
    as_sqlite_keeps,
    awkward_table,
    comparable,
    every_type_table,
    load_fresh,
    with_chunk,
)

# --- copying between engines --------------------------------------------------------------------


class Progress:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, table: str, done: int, total: int) -> None:
        self.calls.append((table, done, total))

    def for_table(self, table: str) -> list[tuple[int, int]]:
        return [(done, total) for name, done, total in self.calls if name == table]


def assert_batched_progress(progress: Progress, table: str, rows: int, batch: int) -> None:
    seen = progress.for_table(table)
    assert seen[0] == (0, rows) and seen[-1] == (rows, rows)
    assert len(seen) == 1 + math.ceil(rows / batch)  # one call per batch: never one big read
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def sqlite_indexes(target: Target, table: str) -> set[tuple[str, ...]]:
    conn = target.connect()
    try:
        names = conn.execute("SELECT name FROM pragma_index_list(?)", [table]).fetchall()
        return {
            tuple(r[0] for r in conn.execute("SELECT name FROM pragma_index_info(?)", [n]))
            for (n,) in names
        }
    finally:
        conn.close()


def duckdb_indexes(target: Target, table: str) -> tuple[set[str], set[tuple[str, ...]]]:
    """(index SQL texts, primary-key column tuples) of a DuckDB table."""
    conn = duckdb.connect(target.location)
    try:
        sqls = {r[0] for r in conn.execute(
            "SELECT sql FROM duckdb_indexes() WHERE table_name = ?", [table]
        ).fetchall()}  # fmt: skip
        keys = {tuple(r[0]) for r in conn.execute(
            "SELECT constraint_column_names FROM duckdb_constraints() "
            "WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'", [table]
        ).fetchall()}  # fmt: skip
        return sqls, keys
    finally:
        conn.close()


def pg_indexes(target: Target, table: str) -> tuple[set[str], list[tuple[str, str]]]:
    """(index definitions, (constraint type, column) rows) of a PostgreSQL table."""
    conn = target.connect()
    try:
        defs = {r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s", [table]
        ).fetchall()}  # fmt: skip
        keys = conn.execute(
            "SELECT tc.constraint_type, k.column_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name) "
            "WHERE tc.table_schema = current_schema() AND tc.table_name = %s "
            "ORDER BY k.ordinal_position",
            [table],
        ).fetchall()
        return defs, [tuple(r) for r in keys]
    finally:
        conn.close()


def test_copy_sqlite_to_duckdb_in_batches_then_indexes(make_target: Callable[..., Target]):
    source, dest = make_target("sqlite", "src"), make_target("duckdb", "dst")
    table = every_type_table(50)
    load_fresh(source, "t", table)
    load_fresh(source, AWKWARD_TABLE, awkward_table(9))
    progress = Progress()
    copied = copying.copy_between(
        source,
        dest,
        batch_rows=7,
        primary_keys={"t": ["id"], AWKWARD_TABLE: ["Select"]},
        indexes={"t": [["s"], ["chunk", "i32"]], AWKWARD_TABLE: [["a b", 'it"s']]},
        progress=progress,
    )
    assert copied == {AWKWARD_TABLE: 9, "t": 50}
    assert loaders.row_counts(dest) == loaders.row_counts(source)
    for name in copied:
        assert loaders.table_checksum(dest, name) == loaders.table_checksum(source, name)
        assert loaders.table_schema(dest, name).types == loaders.table_schema(source, name).types
    assert_batched_progress(progress, "t", 50, 7)
    sqls, keys = duckdb_indexes(dest, "t")
    assert keys == {("id",)}
    assert {s.split(" ON ", 1)[1] for s in sqls} == {"t(s);", "t(chunk, i32);"}
    sqls, keys = duckdb_indexes(dest, AWKWARD_TABLE)
    assert keys == {("Select",)}
    assert [s.split("(", 1)[1] for s in sqls] == ['"a b", "it""s");']


@pytest.mark.parametrize("kind", [pytest.param("postgresql", marks=PG_ONLY)])
def test_copy_duckdb_to_postgresql_in_batches_then_indexes(
    target: Target, make_target: Callable[..., Target]
):
    source = make_target("duckdb", "src")
    table = every_type_table(50)
    load_fresh(source, "t", table)
    wide = ["-99999999999999999999999999999999999.999", "0.001", None]
    decimals = pa.table({"v": pa.array(wide).cast(pa.decimal128(38, 3))})
    load_fresh(source, "wide", decimals)
    progress = Progress()
    copied = copying.copy_between(
        source,
        target,
        ["t", "wide"],
        batch_rows=8,
        primary_keys={"t": ["id"]},
        indexes={"t": [["s"], ["chunk", "i32"]]},
        progress=progress,
    )
    assert copied == {"t": 50, "wide": 3}
    assert loaders.row_counts(target) == {"t": 50, "wide": 3}
    # Exact, NaN and -0.0 included: both engines keep every value.
    for name in copied:
        assert loaders.table_checksum(target, name) == loaders.table_checksum(source, name)
    assert comparable(loaders.read_table(target, "t").to_pylist()) == comparable(table.to_pylist())
    assert_batched_progress(progress, "t", 50, 8)
    defs, keys = pg_indexes(target, "t")
    assert ("PRIMARY KEY", "id") in keys
    methods = {d.split(" USING ", 1)[1] for d in defs}
    assert methods == {"btree (id)", "btree (s)", "btree (chunk, i32)"}


@pytest.mark.parametrize("kind", [pytest.param("postgresql", marks=PG_ONLY)])
def test_copy_postgresql_to_sqlite_in_batches_then_indexes(
    target: Target, make_target: Callable[..., Target]
):
    dest = make_target("sqlite", "dst")
    table = every_type_table(50)
    load_fresh(target, "t", table)
    # One text column: a NULL row is an empty line in PostgreSQL's CSV, which must not vanish.
    notes = pa.table({"note": pa.array([None, "", "a", None, "\n", None], pa.string())})
    load_fresh(target, "notes", notes)
    progress = Progress()
    copied = copying.copy_between(
        target,
        dest,
        batch_rows=6,
        primary_keys={"t": ["id"]},
        indexes={"t": [["ts"]], "notes": [["note"]]},
        progress=progress,
    )
    assert copied == {"notes": 6, "t": 50}
    assert loaders.row_counts(dest) == {"notes": 6, "t": 50}
    # SQLite drops NaN's and -0.0's identity (documented); everything else is exact.
    assert loaders.table_checksum(dest, "t") != loaders.table_checksum(target, "t")
    for name in copied:
        assert loaders.table_checksum(dest, name, normalize_floats=True) == loaders.table_checksum(
            target, name, normalize_floats=True
        )
    assert comparable(loaders.read_table(dest, "t").to_pylist()) == as_sqlite_keeps(
        table.to_pylist()
    )
    assert sorted(loaders.read_table(dest, "notes").column("note").to_pylist(), key=repr) == sorted(
        notes.column("note").to_pylist(), key=repr
    )
    assert_batched_progress(progress, "t", 50, 6)
    assert sqlite_indexes(dest, "t") == {("id",), ("ts",)}
    assert sqlite_indexes(dest, "notes") == {("note",)}
    with pytest.raises(LoadFailed):  # the unique index stands in for the primary key
        loaders.load_table(dest, "t", every_type_table(1, first_id=7))


def test_copy_refuses_an_existing_table_unless_replace(make_target: Callable[..., Target]):
    source, dest = make_target("duckdb", "src"), make_target("sqlite", "dst")
    load_fresh(source, "t", with_chunk(5, 1, 0))
    load_fresh(dest, "t", with_chunk(2, 9, 100))
    with pytest.raises(TableExists):
        copying.copy_between(source, dest)
    assert loaders.row_counts(dest) == {"t": 2}
    assert copying.copy_between(source, dest, replace=True) == {"t": 5}
    assert loaders.table_checksum(dest, "t") == loaders.table_checksum(source, "t")


def test_copy_refuses_unknown_tables_and_columns(make_target: Callable[..., Target]):
    source, dest = make_target("sqlite", "src"), make_target("duckdb", "dst")
    load_fresh(source, "t", with_chunk(5, 1, 0))
    with pytest.raises(LoaderError, match="not found"):
        copying.copy_between(source, dest, ["missing"])
    with pytest.raises(InvalidIdentifier, match="no column"):
        copying.copy_between(source, dest, indexes={"t": [["nope"]]})
    with pytest.raises(InvalidIdentifier, match="not copied"):
        copying.copy_between(source, dest, ["t"], primary_keys={"other": ["id"]})
    assert loaders.row_counts(dest) == {}


def test_a_failing_copy_leaves_the_table_out(make_target: Callable[..., Target]):
    source, dest = make_target("sqlite", "src"), make_target("duckdb", "dst")
    data = with_chunk(20, 1, 0)
    data = data.set_column(0, "id", pa.array([1] * 20, pa.int64()))  # not a key
    load_fresh(source, "t", data)
    with pytest.raises(LoadFailed):
        copying.copy_between(source, dest, batch_rows=3, primary_keys={"t": ["id"]})
    assert loaders.row_counts(dest) == {}
