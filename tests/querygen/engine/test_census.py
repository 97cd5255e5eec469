"""The construct census: each construct recognised from a sqlglot tree (hand-written SQL
parsed as it is), and the share of queries holding each."""

from __future__ import annotations

import pytest
import sqlglot

from querygen.engine.census import CONSTRUCTS, census, constructs

# One query per construct, written as a person would (parsed, not generated).
EXAMPLES = {
    "join": "SELECT 1 FROM a JOIN b ON a.id = b.id",
    "outer_join": "SELECT 1 FROM a LEFT JOIN b ON a.id = b.id",
    "non_equi_join": "SELECT 1 FROM a JOIN b ON a.x < b.y",
    "subquery_in_join": "SELECT 1 FROM a JOIN b ON a.id = b.id AND a.x IN (SELECT c.x FROM c)",
    "group_by": "SELECT a.x, COUNT(*) FROM a GROUP BY a.x",
    "having": "SELECT a.x FROM a GROUP BY a.x HAVING COUNT(*) > 1",
    "having_without_group_by": "SELECT COUNT(*) FROM a HAVING MAX(a.x) > 1",
    "distinct": "SELECT DISTINCT a.x FROM a",
    "distinct_on": "SELECT DISTINCT ON (a.x) a.x, a.y FROM a ORDER BY a.x, a.id",
    "order_by": "SELECT a.x FROM a ORDER BY 1",
    "limit": "SELECT a.x FROM a ORDER BY 1 LIMIT 3",
    "offset": "SELECT a.x FROM a ORDER BY 1 OFFSET 2",
    "union": "SELECT a.x FROM a UNION ALL SELECT b.x FROM b",
    "intersect": "SELECT a.x FROM a INTERSECT SELECT b.x FROM b",
    "intersect_all": "SELECT a.x FROM a INTERSECT ALL SELECT b.x FROM b",
    "except": "SELECT a.x FROM a EXCEPT SELECT b.x FROM b",
    "except_all": "SELECT a.x FROM a EXCEPT ALL SELECT b.x FROM b",
    "cte": "WITH w AS (SELECT 1 AS x) SELECT w.x FROM w",
    "window": "SELECT COUNT(*) OVER (PARTITION BY a.x) FROM a",
    "window_frame": "SELECT SUM(a.x) OVER (ORDER BY a.id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) "
    "FROM a",
    "lead_lag": "SELECT LAG(a.x, 1, 0) OVER (ORDER BY a.id) FROM a",
    "first_value": "SELECT LAST_VALUE(a.x) OVER (ORDER BY a.id) FROM a",
    "row_number": "SELECT ROW_NUMBER() OVER (ORDER BY a.id) FROM a",
    "dense_rank": "SELECT DENSE_RANK() OVER (ORDER BY a.x) FROM a",
    "ntile": "SELECT NTILE(3) OVER (ORDER BY a.id) FROM a",
    "exists": "SELECT 1 FROM a WHERE EXISTS (SELECT 1 FROM b)",
    "in_subquery": "SELECT 1 FROM a WHERE a.x IN (SELECT b.x FROM b)",
    "scalar_subquery": "SELECT (SELECT MAX(b.x) FROM b) FROM a",
    "correlated_in": "SELECT 1 FROM a WHERE a.x NOT IN (SELECT b.x FROM b WHERE b.id = a.id)",
    "correlated_exists_inequality": "SELECT 1 FROM a WHERE EXISTS "
    "(SELECT 1 FROM b WHERE b.x <= a.x)",
    "correlated_exists_several": "SELECT 1 FROM a WHERE NOT EXISTS "
    "(SELECT 1 FROM b WHERE b.id = a.id AND (b.x = a.y OR b.y = a.x))",
    "is_distinct_from": "SELECT 1 FROM a WHERE a.x IS NOT DISTINCT FROM a.y",
    "between": "SELECT 1 FROM a WHERE a.x NOT BETWEEN a.y AND a.z",
    "like_underscore": "SELECT 1 FROM a WHERE a.s LIKE 'a_c%'",
    "coalesce": "SELECT COALESCE(CAST(NULL AS INT), a.x) FROM a",
    "nullif": "SELECT NULLIF(a.x, 0) FROM a",
    "case": "SELECT CASE WHEN a.x IS NULL THEN 1 END FROM a",
    "cast": "SELECT CAST(a.x AS TEXT) FROM a",
}


def test_every_construct_has_an_example() -> None:
    assert set(EXAMPLES) == set(CONSTRUCTS)
    assert len(set(CONSTRUCTS)) == len(CONSTRUCTS)


@pytest.mark.parametrize("construct", CONSTRUCTS)
def test_each_construct_is_recognised_in_hand_written_sql(construct: str) -> None:
    sql = EXAMPLES[construct]
    assert construct in constructs(sqlglot.parse_one(sql)), sql


def test_only_what_the_query_holds_is_named() -> None:
    assert constructs(sqlglot.parse_one("SELECT a.x FROM a WHERE a.x = 1")) == set()
    # A typed literal is no cast, nor is a typed NULL
    found = constructs(sqlglot.parse_one("SELECT CAST('2020-01-01' AS DATE), CAST(NULL AS INT)"))
    assert "cast" not in found
    # An equality join, one side's extra condition included, is an equi-join
    found = constructs(sqlglot.parse_one("SELECT 1 FROM a JOIN b ON (a.id = b.id AND b.x > 1)"))
    assert found == {"join"}
    # INTERSECT and EXCEPT without ALL; UNION ALL is a union
    found = constructs(sqlglot.parse_one("SELECT 1 INTERSECT SELECT 2 EXCEPT SELECT 3"))
    assert found == {"intersect", "except"}
    # Uncorrelated subqueries, and an EXISTS correlated by one equality
    sql = (
        "SELECT 1 FROM a WHERE a.x IN (SELECT b.x FROM b WHERE b.y > 1) "
        "AND EXISTS (SELECT 1 FROM b AS c WHERE c.id = a.id AND c.x < c.y)"
    )
    assert constructs(sqlglot.parse_one(sql)) == {"in_subquery", "exists"}
    # A derived table is no scalar subquery; a pattern without `_` is not like_underscore
    sql = "SELECT d.x FROM (SELECT a.x FROM a) AS d WHERE d.x LIKE 'a%'"
    assert constructs(sqlglot.parse_one(sql)) == set()
    # HAVING with GROUP BY; DISTINCT ON is not a plain DISTINCT
    sql = "SELECT DISTINCT ON (a.x) a.x FROM a ORDER BY a.x"
    assert constructs(sqlglot.parse_one(sql)) == {"distinct_on", "order_by"}


def test_correlation_is_read_from_qualified_columns() -> None:
    # c.x and c.y are the subquery's own (an alias of its FROM), a.x is the outer query's
    inner = "SELECT 1 FROM b AS c WHERE c.x <> a.x AND c.y = a.y"
    found = constructs(sqlglot.parse_one(f"SELECT 1 FROM a WHERE EXISTS ({inner})"))
    assert {"correlated_exists_inequality", "correlated_exists_several"} <= found
    # A CTE and a derived table of the subquery are its own names
    sql = (
        "SELECT 1 FROM a WHERE a.x IN (WITH w AS (SELECT 1 AS x) SELECT d.x FROM "
        "(SELECT w.x FROM w) AS d WHERE d.x = w.x)"
    )
    assert "correlated_in" not in constructs(sqlglot.parse_one(sql))


def test_the_census_is_the_share_of_queries_holding_each_construct() -> None:
    trees = [
        sqlglot.parse_one(sql)
        for sql in (
            "SELECT a.x FROM a JOIN b ON a.x < b.y",
            "SELECT a.x FROM a LEFT JOIN b ON a.id = b.id ORDER BY 1 LIMIT 2",
            "SELECT a.x FROM a",
            "SELECT NTILE(2) OVER (ORDER BY a.id) FROM a",
        )
    ]
    shares = census(trees)
    assert list(shares) == list(CONSTRUCTS)
    assert shares["join"] == 0.5
    assert shares["non_equi_join"] == shares["outer_join"] == shares["limit"] == 0.25
    assert shares["ntile"] == shares["window"] == 0.25
    assert shares["cte"] == 0.0
    assert census([]) == dict.fromkeys(CONSTRUCTS, 0.0)
