"""The anchor of querygen's release benchmark: a plain random SQL generator, the kind a developer
writes in an afternoon, run as a differential test with no reduction and no grouping.

``NaiveGenerator(seed)`` makes 2-3 small tables of integer columns (5-10 rows of small values
and NULLs: ``.database()``, the CREATE TABLE and INSERT statements) and random SELECTs over them
(``.query()``): inner and left joins on equalities and inequalities, WHERE with AND/OR/NOT,
comparisons, IS NULL, BETWEEN, IN lists, arithmetic, GROUP BY/HAVING, COUNT/SUM/MIN/MAX/AVG,
DISTINCT, ORDER BY, LIMIT, UNION/INTERSECT/EXCEPT, IN/EXISTS and scalar subqueries, CASE,
COALESCE and NULLIF, all by string building. It shares nothing with querygen's generator.

``run_naive(sut, ref, seconds, seed)`` loads a database into both engines (``EngineClient.load``:
engines opened on ``worker.MEMORY``), runs random queries for ``seconds`` (a new database
every ``QUERIES_PER_DATABASE`` queries) and compares the answers as multisets with
querygen's own comparison (``querygen.engine.compare``), so numeric noise is judged by the same
rules as querygen's findings. It counts raw mismatches (both answered, differently), errors
(only one side refused), crashes, and keeps every such query as it is.

    .venv/bin/python benchmarks/naive_sqlgen.py [--seconds 10] [--seed 1]
        [--sut-python PATH] [--ref duckdb|sqlite]

compares DuckDB in another interpreter (``--sut-python``, say one from
``manage.py querygen_release duckdb==0.9.2``) or in this one, with this process's DuckDB (or
SQLite) as the reference.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from querygen.engine import worker  # noqa: E402
from querygen.engine.compare import Comparison, Kind, compare  # noqa: E402
from querygen.engine.engines import DuckDBClient, EngineClient, IsolatedClient, SQLiteClient  # noqa: E402
from querygen.engine.model import Outcome  # noqa: E402

QUERIES_PER_DATABASE = 100
TIMEOUT = 2.0  # seconds per query and engine
MAX_ROWS = 10_000

VALUES = (0, 1, 2, 3, 5, -1, -2, 10)
LITERALS = (0, 1, 2, 3, -1, 5, 10, 100)
COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
ARITHMETIC = ("+", "-", "*", "+", "-", "/", "%")
AGGREGATES = ("COUNT", "SUM", "MIN", "MAX", "AVG")


class NaiveGenerator:
    """Random tables and random queries over them, from one seed (same seed, same SQL).

    ``database()`` makes new tables and answers their statements; ``query()`` writes a query
    over the tables of the last ``database()`` (the first query makes a database if there is
    none yet)."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.tables: dict[str, list[str]] = {}
        self.statements: list[str] = []
        self._aliases = 0

    # -- the database --

    def database(self) -> list[str]:
        r = self.random
        self.tables = {}
        statements = []
        for t in range(r.randint(2, 3)):
            name = f"t{t}"
            columns = [f"c{c}" for c in range(r.randint(2, 4))]
            self.tables[name] = columns
            statements.append(
                f"CREATE TABLE {name} (" + ", ".join(f"{c} INTEGER" for c in columns) + ")"
            )
            rows = []
            for _ in range(r.randint(5, 10)):
                values = ["NULL" if r.random() < 0.15 else str(r.choice(VALUES)) for _ in columns]
                rows.append("(" + ", ".join(values) + ")")
            statements.append(f"INSERT INTO {name} VALUES " + ", ".join(rows))
        self.statements = statements
        return list(statements)

    # -- queries --

    def query(self) -> str:
        if not self.tables:
            self.database()
        self._aliases = 0
        if self.random.random() < 0.15:
            return self._set_operation()
        return self._select(depth=0)

    def _alias(self) -> str:
        self._aliases += 1
        return f"a{self._aliases}"

    def _from(self, allow_join: bool) -> tuple[str, list[str]]:
        """A FROM clause and the columns it lets one name (``alias.column``)."""
        r = self.random
        name = r.choice(list(self.tables))
        alias = self._alias()
        scope = [f"{alias}.{c}" for c in self.tables[name]]
        sql = f"{name} {alias}"
        joins = r.choice((0, 0, 1, 1, 2)) if allow_join else 0
        for _ in range(joins):
            other = r.choice(list(self.tables))
            other_alias = self._alias()
            other_columns = [f"{other_alias}.{c}" for c in self.tables[other]]
            left, right = r.choice(scope), r.choice(other_columns)
            op = "=" if r.random() < 0.7 else r.choice(COMPARISONS[1:])
            on = f"{left} {op} {right}"
            if r.random() < 0.2:
                on += f" AND {r.choice(other_columns)} IS NOT NULL"
            kind = "LEFT JOIN" if r.random() < 0.35 else "JOIN"
            sql += f" {kind} {other} {other_alias} ON {on}"
            scope += other_columns
        return sql, scope

    def _expression(self, scope: list[str], depth: int) -> str:
        r = self.random
        roll = r.random()
        if depth >= 2 or roll < 0.45:
            return r.choice(scope)
        if roll < 0.55:
            return str(r.choice(LITERALS))
        if roll < 0.75:
            left = self._expression(scope, depth + 1)
            right = self._expression(scope, depth + 1)
            return f"({left} {r.choice(ARITHMETIC)} {right})"
        if roll < 0.83:
            when = self._predicate(scope, depth + 1)
            then, other = self._expression(scope, depth + 1), self._expression(scope, depth + 1)
            return f"CASE WHEN {when} THEN {then} ELSE {other} END"
        if roll < 0.89:
            return f"COALESCE({r.choice(scope)}, {self._expression(scope, depth + 1)})"
        if roll < 0.93:
            return f"NULLIF({r.choice(scope)}, {r.choice(LITERALS)})"
        if roll < 0.96:
            return f"ABS({self._expression(scope, depth + 1)})"
        return self._scalar_subquery(scope)

    def _scalar_subquery(self, scope: list[str]) -> str:
        r = self.random
        name = r.choice(list(self.tables))
        alias = self._alias()
        column = f"{alias}.{r.choice(self.tables[name])}"
        aggregate = r.choice(("MIN", "MAX", "COUNT", "SUM"))
        where = ""
        if r.random() < 0.6:  # correlated
            where = f" WHERE {column} {r.choice(COMPARISONS)} {r.choice(scope)}"
        return f"(SELECT {aggregate}({column}) FROM {name} {alias}{where})"

    def _predicate(self, scope: list[str], depth: int) -> str:
        r = self.random
        roll = r.random()
        if depth < 2 and roll < 0.25:
            left = self._predicate(scope, depth + 1)
            right = self._predicate(scope, depth + 1)
            return f"({left} {r.choice(('AND', 'OR'))} {right})"
        if depth < 2 and roll < 0.32:
            return f"NOT ({self._predicate(scope, depth + 1)})"
        expression = self._expression(scope, depth + 1)
        if roll < 0.6:
            other = self._expression(scope, depth + 1)
            return f"{expression} {r.choice(COMPARISONS)} {other}"
        if roll < 0.7:
            return f"{expression} IS {r.choice(('', 'NOT '))}NULL"
        if roll < 0.78:
            low, high = sorted(r.sample(LITERALS, 2))
            return f"{expression} {r.choice(('', 'NOT '))}BETWEEN {low} AND {high}"
        if roll < 0.86:
            items = [str(v) for v in r.sample(LITERALS, r.randint(1, 4))]
            if r.random() < 0.2:
                items.append("NULL")
            return f"{expression} {r.choice(('', 'NOT '))}IN ({', '.join(items)})"
        if depth >= 2:
            return f"{expression} IS NOT NULL"
        name = r.choice(list(self.tables))
        alias = self._alias()
        column = f"{alias}.{r.choice(self.tables[name])}"
        if roll < 0.93:
            where = ""
            if r.random() < 0.5:
                where = f" WHERE {column} {r.choice(COMPARISONS)} {r.choice(LITERALS)}"
            negate = r.choice(("", "NOT "))
            return f"{expression} {negate}IN (SELECT {column} FROM {name} {alias}{where})"
        correlation = f"{column} {r.choice(COMPARISONS)} {r.choice(scope)}"
        return f"{r.choice(('', 'NOT '))}EXISTS (SELECT 1 FROM {name} {alias} WHERE {correlation})"

    def _select(self, depth: int, width: int | None = None, tail: bool = True) -> str:
        """A SELECT; ``width`` fixes the number of output columns (set operations), ``tail``
        allows ORDER BY and LIMIT."""
        r = self.random
        from_sql, scope = self._from(allow_join=depth == 0)
        n = width or r.randint(1, 3)
        grouped = r.random() < 0.3
        having = ""
        group = ""
        if grouped:
            keys = r.sample(scope, min(len(scope), r.randint(0, 2)))
            outputs = list(keys[:n])
            while len(outputs) < n:
                outputs.append(self._aggregate(scope))
            if keys:
                group = " GROUP BY " + ", ".join(keys)
            if r.random() < 0.4:
                having = f" HAVING {self._aggregate(scope)} {r.choice(COMPARISONS)} "
                having += str(r.choice(LITERALS))
        else:
            outputs = [self._expression(scope, 0) for _ in range(n)]
        distinct = "DISTINCT " if r.random() < 0.15 else ""
        select_list = ", ".join(f"{e} AS x{i}" for i, e in enumerate(outputs))
        sql = f"SELECT {distinct}{select_list} FROM {from_sql}"
        if r.random() < 0.7:
            sql += f" WHERE {self._predicate(scope, 0)}"
        sql += group + having
        if tail and r.random() < 0.3:
            positions = ", ".join(f"{i + 1} NULLS FIRST" for i in range(n))
            sql += f" ORDER BY {positions}"
            if r.random() < 0.6:
                sql += f" LIMIT {r.randint(1, 5)}"
        return sql

    def _aggregate(self, scope: list[str]) -> str:
        r = self.random
        if r.random() < 0.15:
            return "COUNT(*)"
        argument = self._expression(scope, 1)
        distinct = "DISTINCT " if r.random() < 0.1 else ""
        return f"{r.choice(AGGREGATES)}({distinct}{argument})"

    def _set_operation(self) -> str:
        r = self.random
        width = r.randint(1, 2)
        operator = r.choice(("UNION", "UNION ALL", "INTERSECT", "EXCEPT"))
        left = self._select(depth=1, width=width, tail=False)
        right = self._select(depth=1, width=width, tail=False)
        return f"SELECT * FROM ({left} {operator} {right}) u"


# --- the differential run -----------------------------------------------------------------------


@dataclass
class NaiveFinding:
    """A query whose answers differ, kept as it is: the database, the query, both outcomes."""

    statements: list[str]
    sql: str
    sut: Outcome
    ref: Outcome
    comparison: Comparison


@dataclass
class NaiveRun:
    queries: int = 0
    seconds: float = 0.0
    mismatches: int = 0  # both answered, with different rows
    errors: int = 0  # exactly one side refused
    crashes: int = 0  # either side crashed
    both_errors: int = 0  # both refused: the generator's own mistakes
    timeouts: int = 0  # either side timed out or went over the row limit
    databases: int = 0
    findings: list[NaiveFinding] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.queries / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"{self.queries} queries in {self.seconds:.1f} s ({self.per_second:.0f}/s) on "
            f"{self.databases} databases: {self.mismatches} mismatches, {self.errors} errors "
            f"on one side, {self.crashes} crashes ({self.both_errors} refused by both, "
            f"{self.timeouts} timeouts or too big)"
        )


_COUNTERS = {
    Kind.ROW_COUNT: "mismatches",
    Kind.CONTENT: "mismatches",
    Kind.ERROR: "errors",
    Kind.CRASH: "crashes",
    Kind.BOTH_ERROR: "both_errors",
    Kind.TIMEOUT: "timeouts",
    Kind.TOO_BIG: "timeouts",
}


def run_naive(
    sut: EngineClient,
    ref: EngineClient,
    seconds: float,
    seed: int,
    *,
    timeout: float = TIMEOUT,
    max_rows: int = MAX_ROWS,
    queries_per_database: int = QUERIES_PER_DATABASE,
) -> NaiveRun:
    """Random queries on both engines for ``seconds``, compared as multisets (see the module
    docstring). A database one engine cannot load is skipped."""
    generator = NaiveGenerator(seed)
    result = NaiveRun()
    started = time.perf_counter()
    statements: list[str] = []
    left = 0
    while time.perf_counter() - started < seconds:
        if left == 0:
            statements = generator.database()
            loaded = [engine.load(statements, timeout=timeout) for engine in (sut, ref)]
            if not all(outcome.ok for outcome in loaded):
                continue
            result.databases += 1
            left = queries_per_database
        left -= 1
        sql = generator.query()
        sut_outcome = sut.execute(sql, timeout=timeout, max_rows=max_rows)
        ref_outcome = ref.execute(sql, timeout=timeout, max_rows=max_rows)
        comparison = compare(sut_outcome, ref_outcome)
        result.queries += 1
        counter = _COUNTERS.get(comparison.kind)
        if counter is not None:
            setattr(result, counter, getattr(result, counter) + 1)
        if comparison.finding:
            result.findings.append(
                NaiveFinding(list(statements), sql, sut_outcome, ref_outcome, comparison)
            )
    result.seconds = time.perf_counter() - started
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sut-python", help="an interpreter with another DuckDB release")
    parser.add_argument("--ref", choices=("duckdb", "sqlite"), default="duckdb")
    parser.add_argument("--show", type=int, default=3, help="findings to print")
    args = parser.parse_args(argv)
    if args.sut_python:
        sut: EngineClient = IsolatedClient(args.sut_python, "duckdb", worker.MEMORY)
    else:
        sut = DuckDBClient(worker.MEMORY)
    ref_class = DuckDBClient if args.ref == "duckdb" else SQLiteClient
    with sut, ref_class(worker.MEMORY) as ref:
        print(f"\n== naive random SQL: {sut.version()} (SUT) vs {ref.version()} (reference) ==")
        result = run_naive(sut, ref, args.seconds, args.seed)
        print(f"  {result.summary()}")
        for finding in result.findings[: args.show]:
            print(f"  {finding.comparison.kind.value}: {finding.sql}")
            print(f"    {finding.comparison.detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
