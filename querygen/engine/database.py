"""Databases of querygen's own: small, random, made again from (seed, number) anywhere.

SQLancer's lesson: most logic bugs need a few rows, not volume, and a bug found on a database of
a dozen rows reproduces in a few statements. ``generate_database(seed, number, settings,
dialects)`` draws 1-4 tables of 1-6 columns of the types every engine of the run has, 0-12 rows
of values from small domains (so that joins match and groups form) with NULLs, duplicate rows
and edge values (0, -1, the extremes of a 32-bit integer, '', unicode, NaN and infinities where
every dialect has them), optional primary keys, NOT NULL columns, indexes and views.
``Database.statements(dialect)`` renders the CREATE and INSERT statements each engine runs on
a database of its own (engines.EngineClient.load: SQLite and DuckDB in memory, PostgreSQL in a
schema of the engine's own): no engine ever reads a file another release wrote.

Everything here is plain data, so a reducer can take tables, columns and rows away
(``without_tables``, ``with_columns``, ``with_rows``) and ``script`` writes what is left as a
self-contained reproducer.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from querygen.engine.model import Column, Schema, SqlType, Table

__all__ = [
    "Database",
    "DatabaseSettings",
    "Index",
    "TableData",
    "View",
    "generate_database",
    "literal",
    "script",
]

# Dialects whose FLOAT holds NaN and the infinities (SQLite stores NaN as NULL).
FLOAT_SPECIALS = frozenset({"duckdb", "postgres"})
# The declared type of each SqlType per dialect: names each engine's catalog maps back to the
# same SqlType (dbkinds' type families), so a reader of the catalog sees what we meant.
TYPE_NAMES: dict[str, dict[SqlType, str]] = {
    "duckdb": {
        SqlType.INT: "INTEGER",
        SqlType.FLOAT: "DOUBLE",
        SqlType.DECIMAL: "DECIMAL(10,2)",
        SqlType.TEXT: "VARCHAR",
        SqlType.BOOL: "BOOLEAN",
        SqlType.DATE: "DATE",
        SqlType.TIMESTAMP: "TIMESTAMP",
    },
    "sqlite": {
        SqlType.INT: "INTEGER",
        SqlType.FLOAT: "REAL",
        SqlType.DECIMAL: "NUMERIC(10,2)",
        SqlType.TEXT: "TEXT",
        SqlType.BOOL: "BOOLEAN",
        SqlType.DATE: "DATE",
        SqlType.TIMESTAMP: "TIMESTAMP",
    },
    "postgres": {
        SqlType.INT: "INTEGER",
        SqlType.FLOAT: "DOUBLE PRECISION",
        SqlType.DECIMAL: "NUMERIC(10,2)",
        SqlType.TEXT: "TEXT",
        SqlType.BOOL: "BOOLEAN",
        SqlType.DATE: "DATE",
        SqlType.TIMESTAMP: "TIMESTAMP",
    },
}
DIALECTS = tuple(TYPE_NAMES)

# Small domains, so that equal values meet across tables; edges drawn apart (p_edge).
INTS = (0, 1, 2, 3, -1, -2, 5, 10)
INT_EDGES = (2147483647, -2147483648, 127, -128, 255, 256, 65535, 1000000)
FLOATS = (0.0, 1.0, -1.0, 0.5, 2.5, -0.5, 3.0, 10.0)
# No ±1e300: beside small values, a float SUM's answer depends on the order of summation
# (1e300 + 1 - 1e300 is 0 or 1), which engines do not fix: noise, not a bug.
FLOAT_EDGES = (-0.0, 1e-9, 0.1, 123456.789)
FLOAT_SPECIAL_VALUES = (math.nan, math.inf, -math.inf)
DECIMALS = tuple(Decimal(v) for v in ("0.00", "1.00", "-1.00", "0.50", "2.25", "10.00", "-3.75"))
DECIMAL_EDGES = tuple(Decimal(v) for v in ("99999999.99", "-99999999.99", "0.01", "-0.01"))
TEXTS = ("a", "b", "A", "ab", "abc", "", "x", "0")
TEXT_EDGES = (" ", " a", "a ", "é", "日本", "a%", "x_y", "'", "NULL", "-1", "aaaaaaaaaaaaaaaaaaaa")
DATES = tuple(date(2000, 1, d) for d in (1, 2, 3)) + (date(2024, 2, 29), date(1999, 12, 31))
DATE_EDGES = (date(1970, 1, 1), date(2100, 12, 31), date(1900, 3, 1))
TIMESTAMPS = tuple(datetime(2000, 1, 1, h) for h in (0, 1, 12)) + (
    datetime(2024, 2, 29, 23, 59, 59),
)
TIMESTAMP_EDGES = (datetime(1970, 1, 1), datetime(2100, 1, 1, 0, 0, 1))
DOMAINS: dict[SqlType, tuple[tuple[Any, ...], tuple[Any, ...]]] = {
    SqlType.INT: (INTS, INT_EDGES),
    SqlType.FLOAT: (FLOATS, FLOAT_EDGES),
    SqlType.DECIMAL: (DECIMALS, DECIMAL_EDGES),
    SqlType.TEXT: (TEXTS, TEXT_EDGES),
    SqlType.BOOL: ((True, False), ()),
    SqlType.DATE: (DATES, DATE_EDGES),
    SqlType.TIMESTAMP: (TIMESTAMPS, TIMESTAMP_EDGES),
}
VIEW_OPS = ("IS NOT NULL", ">", "<=", "<>")


@dataclass(frozen=True)
class DatabaseSettings:
    """How big and how strange the generated databases are; ``queries`` queries run on each."""

    queries: int = 100  # a new database every this many queries
    max_tables: int = 4
    max_columns: int = 6
    max_rows: int = 12
    p_null: float = 0.2  # a value is NULL (not in a NOT NULL column)
    p_edge: float = 0.15  # a value is an edge value of its type rather than a small one
    p_duplicate: float = 0.2  # a row repeats an earlier row of its table
    p_primary_key: float = 0.3  # a table's first column is an INTEGER primary key, "id"
    p_not_null: float = 0.15  # a column is declared NOT NULL
    p_index: float = 0.3  # per table: an index on one or two of its columns
    p_view: float = 0.3  # per database: a view over one table
    type_weights: dict[str, float] = field(
        default_factory=lambda: {
            "int": 5,
            "float": 1,
            "decimal": 1,
            "text": 3,
            "bool": 1,
            "date": 1,
            "timestamp": 1,
        }
    )

    @classmethod
    def from_mapping(cls, data: Any) -> DatabaseSettings:
        """Settings over the defaults, with messages that name the bad key."""
        if not isinstance(data, dict):
            raise ValueError("database settings are a mapping")
        known = {f.name for f in fields(cls)}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"database: unknown setting {key!r}")
            if key == "type_weights":
                if not isinstance(value, dict) or not value:
                    raise ValueError("database.type_weights: a mapping of types to weights")
                for name, weight in value.items():
                    if name not in {t.value for t in SqlType}:
                        raise ValueError(f"database.type_weights.{name}: not a type")
                    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                        raise ValueError(f"database.type_weights.{name}: a weight >= 0")
                    if weight < 0:
                        raise ValueError(f"database.type_weights.{name}: a weight >= 0")
                continue
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if key.startswith("p_"):
                if not number or not 0 <= value <= 1:
                    raise ValueError(f"database.{key}: a probability from 0 to 1")
            elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"database.{key}: a whole number >= 1")
        return replace(cls(), **data)


@dataclass(frozen=True)
class TableData:
    name: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    primary_key: str | None = None  # the name of an INTEGER column holding distinct values
    not_null: frozenset[str] = frozenset()

    @property
    def table(self) -> Table:
        return Table(self.name, self.columns)

    def column_type(self, name: str) -> SqlType:
        for c in self.columns:
            if c.name == name:
                return c.type
        raise KeyError(name)


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class View:
    """``CREATE VIEW name AS SELECT columns FROM table [WHERE column op value]``."""

    name: str
    table: str
    columns: tuple[Column, ...]
    where: tuple[str, str, Any] | None = None  # (column, one of VIEW_OPS, value)


@dataclass(frozen=True)
class Database:
    seed: int
    number: int
    tables: tuple[TableData, ...]
    indexes: tuple[Index, ...] = ()
    views: tuple[View, ...] = ()

    @property
    def schema(self) -> Schema:
        """What queries may read: the tables, then the views."""
        return Schema(
            tuple(t.table for t in self.tables)
            + tuple(Table(v.name, v.columns) for v in self.views)
        )

    @property
    def rows(self) -> int:
        return sum(len(t.rows) for t in self.tables)

    def table(self, name: str) -> TableData:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def statements(self, dialect: str) -> list[str]:
        """CREATE TABLE, INSERT (one statement per table), CREATE INDEX and CREATE VIEW."""
        names = _type_names(dialect)
        out: list[str] = []
        for t in self.tables:
            defs = []
            for c in t.columns:
                d = f"{_quote(c.name)} {names[c.type]}"
                if c.name == t.primary_key:
                    d += " PRIMARY KEY"
                elif c.name in t.not_null:
                    d += " NOT NULL"
                defs.append(d)
            out.append(f"CREATE TABLE {_quote(t.name)} ({', '.join(defs)})")
            if t.rows:
                values = ", ".join(
                    "("
                    + ", ".join(
                        literal(v, c.type, dialect) for v, c in zip(row, t.columns, strict=True)
                    )
                    + ")"
                    for row in t.rows
                )
                out.append(f"INSERT INTO {_quote(t.name)} VALUES {values}")  # noqa: S608
        for i in self.indexes:
            cols = ", ".join(_quote(c) for c in i.columns)
            out.append(f"CREATE INDEX {_quote(i.name)} ON {_quote(i.table)} ({cols})")
        for v in self.views:
            cols = ", ".join(_quote(c.name) for c in v.columns)
            sql = f"CREATE VIEW {_quote(v.name)} AS SELECT {cols} FROM {_quote(v.table)}"  # noqa: S608
            if v.where is not None:
                column, op, value = v.where
                sql += f" WHERE {_quote(column)} {op}"
                if op != "IS NOT NULL":
                    sql += " " + literal(value, self.table(v.table).column_type(column), dialect)
            out.append(sql)
        return out

    def drop_statements(self) -> list[str]:
        """What undoes ``statements`` in every dialect: the views, then the tables."""
        views = [f"DROP VIEW {_quote(v.name)}" for v in self.views]
        return views + [f"DROP TABLE {_quote(t.name)}" for t in self.tables]

    # -- what a reducer takes away --

    def without_tables(self, names: Iterable[str]) -> Database:
        """Without these tables and views (and the views and indexes over the tables)."""
        gone = set(names)
        return replace(
            self,
            tables=tuple(t for t in self.tables if t.name not in gone),
            indexes=tuple(i for i in self.indexes if i.table not in gone),
            views=tuple(v for v in self.views if v.name not in gone and v.table not in gone),
        )

    def with_rows(self, table: str, rows: Sequence[tuple[Any, ...]]) -> Database:
        return replace(
            self,
            tables=tuple(
                replace(t, rows=tuple(rows)) if t.name == table else t for t in self.tables
            ),
        )

    def with_columns(self, table: str, keep: Iterable[str]) -> Database:
        """``table`` with only the columns ``keep`` names (the indexes on others dropped)."""
        wanted = set(keep)
        data = self.table(table)
        positions = [n for n, c in enumerate(data.columns) if c.name in wanted]
        slim = replace(
            data,
            columns=tuple(data.columns[n] for n in positions),
            rows=tuple(tuple(row[n] for n in positions) for row in data.rows),
            primary_key=data.primary_key if data.primary_key in wanted else None,
            not_null=data.not_null & wanted,
        )
        views = tuple(
            v
            for v in self.views
            if v.table != table
            or ({c.name for c in v.columns} <= wanted and (v.where is None or v.where[0] in wanted))
        )
        return replace(
            self,
            tables=tuple(slim if t.name == table else t for t in self.tables),
            indexes=tuple(i for i in self.indexes if i.table != table or set(i.columns) <= wanted),
            views=views,
        )

    def without_indexes(self) -> Database:
        return replace(self, indexes=())


def _type_names(dialect: str) -> dict[SqlType, str]:
    try:
        return TYPE_NAMES[dialect]
    except KeyError:
        raise ValueError(
            f"no generated databases for dialect {dialect!r}; one of {DIALECTS}"
        ) from None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any, t: SqlType, dialect: str) -> str:
    """``value`` of type ``t`` as a SQL literal the dialect reads back as that value."""
    if value is None:
        return "NULL"
    if t == SqlType.BOOL:
        return "TRUE" if value else "FALSE"
    if t == SqlType.INT:
        return str(int(value))
    if t == SqlType.FLOAT:
        if math.isnan(value) or math.isinf(value):
            text = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
            cast = "DOUBLE PRECISION" if dialect == "postgres" else "DOUBLE"
            return f"CAST('{text}' AS {cast})"
        return repr(float(value))
    if t == SqlType.DECIMAL:
        return str(value)
    if t == SqlType.TEXT:
        return "'" + str(value).replace("'", "''") + "'"
    if t == SqlType.DATE:
        text = value.isoformat()
        return f"'{text}'" if dialect == "sqlite" else f"DATE '{text}'"
    text = value.isoformat(sep=" ")
    return f"'{text}'" if dialect == "sqlite" else f"TIMESTAMP '{text}'"


def database_rng(seed: int, number: int) -> random.Random:
    digest = hashlib.blake2b(f"{seed}:database:{number}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))  # noqa: S311 (not a secret)


def generate_database(
    seed: int,
    number: int,
    settings: DatabaseSettings | None = None,
    dialects: Sequence[str] = (),
) -> Database:
    """Database ``number`` of the run seeded ``seed``: the same anywhere, for the same settings
    and dialects (the dialects decide only whether FLOAT columns hold NaN and infinities)."""
    s = settings or DatabaseSettings()
    for dialect in dialects:
        _type_names(dialect)
    rng = database_rng(seed, number)
    specials = all(d in FLOAT_SPECIALS for d in dialects)
    types = [SqlType(k) for k, w in s.type_weights.items() if w > 0]
    weights = [s.type_weights[t.value] for t in types]
    if not types:
        raise ValueError("database.type_weights: at least one type needs a weight above 0")
    tables = []
    indexes = []
    for n in range(rng.randint(1, s.max_tables)):
        columns: list[Column] = []
        primary_key = None
        if rng.random() < s.p_primary_key:
            primary_key = "id"
            columns.append(Column("id", SqlType.INT))
        while len(columns) < rng.randint(1, s.max_columns) or not columns:
            columns.append(Column(f"c{len(columns)}", rng.choices(types, weights)[0]))
        not_null = frozenset(
            c.name for c in columns if c.name != primary_key and rng.random() < s.p_not_null
        )
        data = TableData(f"t{n}", tuple(columns), (), primary_key, not_null)
        tables.append(replace(data, rows=_rows(rng, data, s, specials)))
        if rng.random() < s.p_index:
            picked = rng.sample([c.name for c in columns], k=min(len(columns), rng.randint(1, 2)))
            indexes.append(Index(f"i{len(indexes)}", data.name, tuple(picked)))
    views = []
    if rng.random() < s.p_view:
        base = rng.choice(tables)
        picked = rng.sample(list(base.columns), k=rng.randint(1, len(base.columns)))
        where = None
        if rng.random() < 0.7:
            column = rng.choice(base.columns)
            op = rng.choice(VIEW_OPS if column.type != SqlType.BOOL else ("IS NOT NULL", "<>"))
            where = (column.name, op, _value(rng, column.type, s, specials, nullable=False))
        views.append(View("v0", base.name, tuple(picked), where))
    return Database(seed, number, tuple(tables), tuple(indexes), tuple(views))


def _rows(
    rng: random.Random, table: TableData, s: DatabaseSettings, specials: bool
) -> tuple[tuple[Any, ...], ...]:
    rows: list[tuple[Any, ...]] = []
    for n in range(rng.randint(0, s.max_rows)):
        if rows and rng.random() < s.p_duplicate and table.primary_key is None:
            rows.append(rng.choice(rows))
            continue
        rows.append(
            tuple(
                n + 1
                if c.name == table.primary_key
                else _value(rng, c.type, s, specials, nullable=c.name not in table.not_null)
                for c in table.columns
            )
        )
    return tuple(rows)


def _value(
    rng: random.Random, t: SqlType, s: DatabaseSettings, specials: bool, *, nullable: bool
) -> Any:
    if nullable and rng.random() < s.p_null:
        return None
    small, edges = DOMAINS[t]
    if t == SqlType.FLOAT and specials:
        edges = edges + FLOAT_SPECIAL_VALUES
    if edges and rng.random() < s.p_edge:
        return rng.choice(edges)
    return rng.choice(small)


def script(
    database: Database,
    dialect: str,
    query: str,
    answers: Sequence[tuple[str, str]] = (),
) -> str:
    """A reproducer: the statements that make ``database``, then ``query``; ``answers`` (name,
    answer) become comments after it. Runs as it is in the dialect's engine's shell."""
    lines = [f"{sql};" for sql in database.statements(dialect)]
    lines.append(query.rstrip().rstrip(";") + ";")
    for name, answer in answers:
        text = answer.strip().splitlines() or [""]
        lines.append(f"-- {name}: {text[0]}")
        lines.extend(f"--   {line}" for line in text[1:])
    return "\n".join(lines) + "\n"
