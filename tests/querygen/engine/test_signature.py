"""Signatures: error normalization on real engine messages, query shapes, known issues."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable

import duckdb
import pytest
import sqlglot

from querygen.engine.compare import Kind
from querygen.engine.shape import query_shape
from querygen.engine.signature import (
    KnownIssue,
    match_known,
    match_text,
    normalize_error,
    signature,
)

# --- real engine errors ---------------------------------------------------------------------


def duckdb_error(sql: str) -> str:
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (a INTEGER, b VARCHAR)")
        con.execute(sql).fetchall()
    except duckdb.Error as e:
        return str(e)
    finally:
        con.close()
    raise AssertionError(f"DuckDB accepted {sql!r}")


def sqlite_error(sql: str) -> str:
    con = sqlite3.connect(":memory:")
    try:
        con.execute("CREATE TABLE t (a INTEGER, b TEXT)")
        con.execute(sql).fetchall()
    except sqlite3.Error as e:
        return str(e)
    finally:
        con.close()
    raise AssertionError(f"SQLite accepted {sql!r}")


@pytest.mark.parametrize(
    ("run", "first", "second", "expected"),
    [
        (
            duckdb_error,
            "SELECT CAST('abc' AS INTEGER)",
            "SELECT CAST('12x' AS INTEGER)",
            "Conversion Error: Could not convert string <str> to INT<n>",
        ),
        (
            duckdb_error,
            "SELECT nope FROM t",
            "SELECT other_col FROM t",
            "Binder Error: Referenced column <id> not found in FROM clause!",
        ),
        (
            duckdb_error,
            "SELECT 2147483647::INTEGER + 1",
            "SELECT 2000000000::INTEGER + 999999999",
            "Out of Range Error: Overflow in addition of INT<n> (<n> + <n>)!",
        ),
        (
            duckdb_error,
            "SELECT * FROM t17",
            "SELECT * FROM t4",
            "Catalog Error: Table with name t<n> does not exist!",
        ),
        (sqlite_error, "SELECT c0 FROM t", "SELECT c12 FROM t", "no such column: c<n>"),
        (sqlite_error, "SELECT * FROM t1", "SELECT * FROM t99", "no such table: t<n>"),
        (sqlite_error, "SELEC 1", "SELECT 1 FRM t", "near <id>: syntax error"),
        (
            sqlite_error,
            "SELECT abs(-9223372036854775808)",
            "SELECT abs(-9223372036854775807 - 1)",
            "integer overflow",
        ),
    ],
)
def test_real_errors_with_other_constants_normalize_alike(
    run: Callable[[str], str], first: str, second: str, expected: str
) -> None:
    a, b = run(first), run(second)
    assert a != b or a == "integer overflow"
    assert normalize_error(a) == normalize_error(b) == expected
    assert normalize_error(expected) == expected  # idempotent


def test_duckdb_division_by_zero_with_other_constants_and_operands() -> None:
    a = duckdb_error("SELECT 1 // 0")
    b = duckdb_error("SELECT 987 // 0")
    c = duckdb_error("SELECT x % (y - 1) FROM (SELECT 1 AS x, 1 AS y)")
    assert "1 // 0" in a and "987 // 0" in b
    assert normalize_error(a) == normalize_error(b) == normalize_error(c)
    assert normalize_error(a).startswith(
        "Invalid Input Error: Division by zero in expression (...)."
    )


def test_different_errors_stay_different() -> None:
    texts = {
        normalize_error(duckdb_error("SELECT 1 // 0")),
        normalize_error(duckdb_error("SELECT CAST('abc' AS INTEGER)")),
        normalize_error(duckdb_error("SELECT nope FROM t")),
        normalize_error(duckdb_error("SELECT 2147483647::INTEGER + 1")),
        normalize_error(duckdb_error("SELECT 2147483647::INTEGER * 2")),  # multiplication
        normalize_error(sqlite_error("SELECT c0 FROM t")),
        normalize_error(sqlite_error("SELECT * FROM t1")),
        normalize_error(sqlite_error("SELECT nosuchfunction(1)")),
    }
    assert len(texts) == 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Conversion Error: Could not convert string 'abc' to INT32 at line 12",
            "Conversion Error: Could not convert string <str> to INT<n> at line <n>",
        ),
        ("string 'it''s' here", "string <str> here"),
        ("Type INT128 can't be cast", "Type INT<n> can't be cast"),  # an apostrophe
        ('column "Weird ""Name"""', "column <id>"),
        ("table `t 1` missing", "table <id> missing"),
        ("at 0x7ffd5e8a1b2c and 0XDEAD", "at <hex> and <hex>"),
        ("hash 3f2a9c0d11aa22bb end", "hash <hex> end"),
        ("run 123e4567-e89b-12d3-a456-426614174000 failed", "run <uuid> failed"),
        (
            "assertion in /home/ci/duckdb/src/common/types.cpp:123 failed",
            "assertion in <path> failed",
        ),
        ("from src/function/cast.cpp:77:5 here", "from <path> here"),
        (r"open C:\data\run7\x.csv:12 now", "open <path> now"),
        ("see ./build/x and ~/y", "see <path> and <path>"),
        ("value -5 vs 3 - 5 vs a-5 vs 1.5e10", "value <n> vs <n> - <n> vs a-<n> vs <n>"),
        ("and/or 1/0", "and/or <n>/<n>"),
        ("  lots \t of   space ", "lots of space"),
        ("\n\nfirst line\nsecond line 12", "first line"),
        ("", ""),
        ("got 1, 2 and 3, 4, 5", "got <n>, ... and <n>, ..."),
        ("a 1, b 2, b 3", "a <n>, b <n>, ..."),
        ("columns x, y", "columns x, y"),
        (
            "Division by zero in expression (c0 // (c1 + 2)). Use TRY(...) to return NULL",
            "Division by zero in expression (...). Use TRY(...) to return NULL",
        ),
        ("in expression (unclosed", "in expression (unclosed"),
    ],
)
def test_normalize_error_rules(text: str, expected: str) -> None:
    assert normalize_error(text) == expected
    assert normalize_error(expected) == expected


# --- query shapes ---------------------------------------------------------------------------


def shape(sql: str, dialect: str = "duckdb") -> str:
    return query_shape(sqlglot.parse_one(sql, read=dialect))


def test_shape_drops_constants_and_names() -> None:
    a = shape("SELECT t.a AS x, -1, SUM(c) FROM t1 AS t WHERE a > 1.5 AND b = 'x' LIMIT 5")
    b = shape("SELECT q.zz, 42, SUM(w) FROM big_table q WHERE c7 > -3 AND d = 'yy' LIMIT 10")
    assert a == b
    assert "t1" not in a and "1.5" not in a and "'x'" not in a
    assert a == (
        "Select(Column Literal:num Sum(Column) from:From(Table) "
        "where:Where(And(GT(Column Literal:num) EQ(Column Literal:str))) limit:Limit(Literal:num))"
    )


def test_shape_keeps_operators_functions_and_join_kinds() -> None:
    base = "SELECT SUM(a) FROM t LEFT JOIN u ON t.k = u.k WHERE a > 1 ORDER BY 1"
    variants = [
        base.replace("SUM", "AVG"),
        base.replace("LEFT JOIN", "JOIN"),
        base.replace("LEFT JOIN", "FULL OUTER JOIN"),
        base.replace("a > 1", "a >= 1"),
        base.replace("a > 1", "a + 1 > 1"),
        base.replace("ORDER BY 1", "ORDER BY 1 DESC"),
        base.replace("SELECT SUM(a)", "SELECT DISTINCT SUM(a)"),
        base.replace("SUM(a)", "my_udf(a)"),
        base.replace("SUM(a)", "CAST(a AS TEXT)"),
    ]
    shapes = {shape(base)} | {shape(v) for v in variants}
    assert len(shapes) == len(variants) + 1
    assert shape("SELECT f(a) FROM t") != shape("SELECT g(a) FROM t")
    assert shape("SELECT CAST(a AS INT) FROM t") != shape("SELECT CAST(a AS TEXT) FROM t")


def test_shape_counts_a_run_of_like_siblings_once() -> None:
    assert shape("SELECT a FROM t WHERE a IN (1, 2, 3)") == shape("SELECT b FROM u WHERE c IN (9)")
    assert shape("SELECT a, b, c FROM t") == shape("SELECT x FROM t")
    assert shape("SELECT a, 1 FROM t") != shape("SELECT a FROM t")


# --- signatures -----------------------------------------------------------------------------


def _random_query(rng: random.Random, *, func: str = "SUM", join: str = "LEFT JOIN") -> str:
    def name(prefix: str) -> str:
        return f"{prefix}{rng.randrange(100)}"

    t1, t2, c1, c2 = name("t"), name("u"), name("c"), name("d")
    num = rng.choice([str(rng.randrange(-(10**6), 10**6)), f"{rng.uniform(-1e3, 1e3):.3f}"])
    text = "".join(rng.choice("abcxyz'") for _ in range(rng.randrange(0, 6))).replace("'", "''")
    return (
        f"SELECT {t1}.{c1}, {func}({t2}.{c2}) FROM {t1} {join} {t2} ON {t1}.{c1} = {t2}.{c2} "
        f"WHERE {t1}.{c1} > {num} AND {t2}.{c2} <> '{text}' GROUP BY {t1}.{c1} "
        f"LIMIT {rng.randrange(1, 1000)}"
    )


def test_thousands_of_findings_that_differ_in_constants_and_names_are_one_bug() -> None:
    rng = random.Random(5)
    sigs = set()
    for _ in range(2000):
        sql = _random_query(rng)
        error = (
            f"Conversion Error: Could not convert string '{rng.random()}' to INT32 "
            f'in column "{rng.choice("abc")}{rng.randrange(9)}"'
        )
        sigs.add(signature(Kind.ERROR, shape(sql), error))
    assert len(sigs) == 1

    rng = random.Random(5)
    results = {signature("content", shape(_random_query(rng))) for _ in range(500)}
    assert len(results) == 1

    # Another function, another join kind, another kind or error: another bug.
    others = {
        signature("content", shape(_random_query(rng, func="AVG"))),
        signature("content", shape(_random_query(rng, join="INNER JOIN"))),
        signature("content", shape(_random_query(rng, join="FULL OUTER JOIN"))),
        signature("row_count", shape(_random_query(rng))),
        signature("content", shape(_random_query(rng)), "Out of Range Error: Overflow"),
    }
    assert len(others) == 5 and not others & results


def test_signature_is_short_stable_hex() -> None:
    sig = signature("content", "Select(Column)")
    assert len(sig) == 16 and int(sig, 16) >= 0
    assert sig == signature(Kind.CONTENT, "Select(Column)", "")
    # Stable across runs and versions: grouping in the database depends on it.
    assert sig == "cbd1f7896675aff2"
    assert signature("error", "Select(Column)", "no such column: c1") == signature(
        "error", "Select(Column)", "no such column: c7"
    )


# --- known issues ---------------------------------------------------------------------------


def test_invalid_known_issues_are_refused() -> None:
    with pytest.raises(ValueError, match=r"not a valid regular expression"):
        KnownIssue(pattern="Overflow (in", url="https://bugs.example/1")
    with pytest.raises(ValueError, match="empty"):
        KnownIssue(pattern="", url="https://bugs.example/2")
    with pytest.raises(ValueError, match="'label' or 'silence'"):
        KnownIssue(pattern="x", url="https://bugs.example/3", action="ignore")  # type: ignore[arg-type]


def test_match_known() -> None:
    overflow = KnownIssue(r"Overflow in addition of INT<n>", "https://bugs.example/10")
    full_join = KnownIssue(r"(?i)full\s+outer\s+join", "https://bugs.example/11", "silence")
    content = KnownIssue(r"(?m)^content$", "https://bugs.example/12")
    issues = [overflow, full_join, content]
    error = duckdb_error("SELECT 2147483647::INTEGER + 1")

    assert match_known(issues, kind="error", shape="", error=error, sql="SELECT 1") is overflow
    sql = "SELECT * FROM t FULL OUTER JOIN u ON t.a = u.a"
    assert match_known(issues, kind="content", shape=shape(sql), error="", sql=sql) is full_join
    sql = "SELECT 1"
    assert match_known(issues, kind=Kind.CONTENT, shape="", error="", sql=sql) is content
    assert match_known(issues, kind="row_count", shape="", error="", sql=sql) is None
    # The first match in the order given wins.
    assert match_known([content, overflow], kind="content", shape="", error=error, sql=sql) is (
        content
    )


def test_match_text_layout() -> None:
    text = match_text(kind=Kind.ERROR, shape="Select(Column)", error="bad 'x' 12", sql="SELECT")
    assert text == "error\nbad <str> <n>\nSELECT\nSelect(Column)"


def test_one_error_is_one_text_whatever_the_length_of_a_list_in_it() -> None:
    """DuckDB's binder names every binding in scope: one bug, as many lengths as queries."""
    texts = {
        normalize_error(
            f'INTERNAL Error: Failed to bind column reference "c{n}" [{n}.1] (bindings: {{'
            + ", ".join(f"#[{i}.{i % 3}]" for i in range(n))
            + "})"
        )
        for n in range(2, 10)
    }
    assert texts == {
        "INTERNAL Error: Failed to bind column reference <id> [<n>] (bindings: {#[<n>], ...})"
    }


def test_an_internal_error_names_no_types_and_a_crash_no_shape() -> None:
    """One DuckDB crash named the types of whatever columns it touched and came from queries
    of every shape: 52 groups in an hour of the demo, where there is one bug."""
    one = "INTERNAL Error: Vector::Reference used on vector of different type (source INTEGER referenced VARCHAR)"  # noqa: E501
    two = "INTERNAL Error: Vector::Reference used on vector of different type (source DECIMAL(18,4) referenced BOOLEAN)"  # noqa: E501
    assert normalize_error(one) == normalize_error(two)
    assert normalize_error(one).endswith("(source <type> referenced <type>)")
    # Outside internal errors the types are the message: two refusals.
    assert normalize_error("Conversion Error: Could not convert DATE to INTEGER") != (
        normalize_error("Conversion Error: Could not convert VARCHAR to INTEGER")
    )
    assert signature("crash", "Select(Column)", one) == signature(
        "crash", "Select(Max(Column))", two
    )
    assert signature("error", "Select(Column)", one) != signature(
        "error", "Select(Max(Column))", one
    )


def test_a_condition_of_constants_is_one_shape_however_it_is_written() -> None:
    """One bug of the reference SQLite 3.40 (a RIGHT JOIN after an INNER JOIN on a constant
    false condition) made 68 groups in an hour, one per way of writing the condition."""
    base = "SELECT t1.a FROM t1 INNER JOIN t2 ON {} RIGHT JOIN t3 ON t1.a = t3.a"
    conditions = ["FALSE", "0 IN (7)", "'' IS NULL", "NOT (1 < 2)", "1 = 0 AND 2 = 2", "NULL"]
    shapes = {shape(base.format(c)) for c in conditions[:-1]}
    assert len(shapes) == 1 and "Const" in shapes.pop()
    # NULL is a value, not a condition; a condition reading a row or a subquery is its own
    assert shape(base.format("NULL")) != shape(base.format("FALSE"))
    for other in ("t1.a = 0", "EXISTS (SELECT 1 FROM t4)", "0 IN (SELECT 1)", "random() > 1"):
        assert shape(base.format(other)) != shape(base.format("FALSE")), other
    # Beside a column the constant part still collapses
    assert shape("SELECT a FROM t WHERE a > 1 AND 1 = 0") == shape(
        "SELECT a FROM t WHERE a > 2 AND '' IS NULL"
    )
