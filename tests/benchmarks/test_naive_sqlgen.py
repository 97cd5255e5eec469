"""benchmarks/naive_sqlgen.py, the anchor: its SQL runs on DuckDB and SQLite, a seed makes the
same SQL, and run_naive counts what real engines answer (no mocks: a second or two of each)."""

from __future__ import annotations

import re
from collections import Counter

from benchmarks import naive_sqlgen
from benchmarks.naive_sqlgen import NaiveGenerator, run_naive
from querygen.engine import worker
from querygen.engine.compare import Kind
from querygen.engine.engines import DuckDBClient, IsolatedClient, SQLiteClient
from querygen.engine.releases import ensure_release

CONSTRUCTS = {
    "inner join": r" JOIN t\d",
    "left join": r"LEFT JOIN",
    "non-equality join": r" ON \S+ (<>|<|<=|>|>=) ",
    "and": r" AND ",
    "or": r" OR ",
    "not": r"NOT \(",
    "is null": r"IS (NOT )?NULL",
    "between": r"BETWEEN",
    "in list": r"IN \((-?\d|NULL)",
    "in subquery": r"IN \(SELECT",
    "exists": r"EXISTS \(SELECT",
    "scalar subquery": r"\(SELECT (MIN|MAX|COUNT|SUM)\(",
    "arithmetic": r" [-+*/%] ",
    "group by": r"GROUP BY",
    "having": r"HAVING",
    "aggregates": r"\b(COUNT|SUM|MIN|MAX|AVG)\(",
    "distinct": r"SELECT DISTINCT",
    "order by": r"ORDER BY",
    "limit": r"LIMIT \d",
    "union": r" UNION ",
    "intersect": r" INTERSECT ",
    "except": r" EXCEPT ",
    "case": r"CASE WHEN",
    "coalesce": r"COALESCE\(",
    "nullif": r"NULLIF\(",
}


def sample(seed: int, databases: int = 3, queries: int = 100) -> list[tuple[list[str], list[str]]]:
    generator = NaiveGenerator(seed)
    return [
        (generator.database(), [generator.query() for _ in range(queries)])
        for _ in range(databases)
    ]


def test_a_seed_makes_the_same_sql_and_another_seed_other_sql() -> None:
    assert sample(7) == sample(7)
    assert sample(7) != sample(8)


def test_the_database_is_two_or_three_small_tables_of_integers() -> None:
    generator = NaiveGenerator(3)
    for _ in range(20):
        statements = generator.database()
        creates = [s for s in statements if s.startswith("CREATE TABLE")]
        inserts = [s for s in statements if s.startswith("INSERT INTO")]
        assert 2 <= len(creates) == len(inserts) <= 3
        assert all(re.fullmatch(r"CREATE TABLE t\d \((c\d INTEGER(, )?)+\)", s) for s in creates)
        for insert in inserts:
            assert 5 <= insert.count("(") <= 10


def test_every_construct_of_the_anchor_is_generated() -> None:
    queries = [q for _, qs in sample(11, databases=5, queries=200) for q in qs]
    missing = [
        name
        for name, pattern in CONSTRUCTS.items()
        if not any(re.search(pattern, q) for q in queries)
    ]
    assert missing == []


def test_most_queries_run_on_duckdb_and_sqlite() -> None:
    with DuckDBClient(worker.MEMORY) as duck, SQLiteClient(worker.MEMORY) as lite:
        statuses: dict[str, Counter] = {"duckdb": Counter(), "sqlite": Counter()}
        for statements, queries in sample(5, databases=4, queries=100):
            for name, engine in (("duckdb", duck), ("sqlite", lite)):
                assert engine.load(statements).ok
                for sql in queries:
                    statuses[name][engine.execute(sql, timeout=5).status.value] += 1
    for name, counts in statuses.items():
        assert counts["ok"] >= 0.9 * sum(counts.values()), (name, counts)
        assert counts["crash"] == counts["timeout"] == 0, (name, counts)


def test_the_same_engine_twice_finds_nothing() -> None:
    with DuckDBClient(worker.MEMORY) as one, DuckDBClient(worker.MEMORY) as other:
        # Long enough for a few dozen queries on a loaded machine (21 in 1 s under make test's
        # parallel passes): the claim is "nothing found", not a speed.
        result = run_naive(one, other, 3.0, seed=2)
    assert result.queries > 20 and result.databases >= 1
    assert result.per_second > 0
    assert (result.mismatches, result.errors, result.crashes, result.findings) == (0, 0, 0, [])


def test_duckdb_against_sqlite_counts_their_real_differences() -> None:
    """SQLite divides integers as integers, DuckDB does not: mismatches, kept unreduced."""
    with DuckDBClient(worker.MEMORY) as duck, SQLiteClient(worker.MEMORY) as lite:
        result = run_naive(duck, lite, 1.5, seed=3)
    assert result.mismatches > 0
    kinds = Counter(f.comparison.kind for f in result.findings)
    assert kinds[Kind.ROW_COUNT] + kinds[Kind.CONTENT] == result.mismatches
    assert kinds[Kind.ERROR] == result.errors and kinds[Kind.CRASH] == result.crashes
    assert len(result.findings) == result.mismatches + result.errors + result.crashes
    counted = (
        result.mismatches + result.errors + result.crashes + result.both_errors + result.timeouts
    )
    assert counted <= result.queries
    finding = result.findings[0]
    assert finding.statements[0].startswith("CREATE TABLE") and finding.sql.startswith("SELECT")
    assert finding.sut.status is not None and finding.ref.status is not None


def test_an_old_release_against_the_current_one_differs() -> None:
    """DuckDB 0.9.2 (the shared release cache) against this one: 0.9.2 answers NULL where 2.0
    refuses to divide by zero, among others."""
    with (
        IsolatedClient(ensure_release("duckdb", "0.9.2"), "duckdb", worker.MEMORY) as old,
        DuckDBClient(worker.MEMORY) as new,
    ):
        result = run_naive(old, new, 2.0, seed=1)
    assert result.queries > 50
    assert result.mismatches + result.errors > 0


def test_the_script_prints_its_counts(capsys) -> None:
    assert naive_sqlgen.main(["--seconds", "0.5", "--ref", "sqlite", "--show", "1"]) == 0
    out = capsys.readouterr().out
    assert "(SUT) vs SQLite" in out
    assert re.search(r"\d+ queries in [\d.]+ s \(\d+/s\)", out), out
