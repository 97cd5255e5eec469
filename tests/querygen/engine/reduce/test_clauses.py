"""Pass 2 on written queries: joins, GROUP BY, select items and their ORDER BY ordinals."""

from __future__ import annotations

import pytest
from sqlglot import exp

from querygen.engine.reduce import reduce
from tests.querygen.engine.reduce.helpers import (
    Fails,
    Recorder,
    assert_cuts,
    parse,
    written_queries,
)


def ordered_by(query: exp.Expression) -> set[str]:
    """The columns the select items that ORDER BY ordinals point at read."""
    order = query.args.get("order")
    positions = [int(o.this.name) for o in (order.expressions if order else []) if o.this.is_int]
    items = [query.expressions[p - 1] for p in positions]
    return {c.name for item in items for c in item.find_all(exp.Column)}


@written_queries(
    pytest.param(
        "SELECT t.a AS c0, t.b AS c1, t.c AS c2 FROM t AS t ORDER BY 3 DESC, 1",
        lambda q: "c" in ordered_by(q),
        "SELECT t.c AS c2 FROM t AS t ORDER BY 1 DESC",
        id="ordinals-renumbered",
    ),
    pytest.param(
        "SELECT a.x AS c0 FROM a AS a JOIN b AS b ON a.id = b.id "
        "LEFT JOIN c AS c ON b.id = c.id WHERE c.y > 1",
        lambda q: any(col.name == "y" for col in q.find_all(exp.Column)),
        "SELECT 0 AS c0 FROM c AS c WHERE c.y > 1",
        id="joins-dropped-once-unreferenced",
    ),
    pytest.param(
        "SELECT t.g AS c0, COUNT(*) AS c1 FROM t AS t GROUP BY t.g",
        lambda q: q.find(exp.Count) is not None,
        "SELECT COUNT(*) AS c1 FROM t AS t",
        id="group-by-dropped-with-its-bare-items",
    ),
    pytest.param(
        "SELECT t.g AS c0, COUNT(*) AS c1 FROM t AS t GROUP BY t.g",
        lambda q: (
            q.find(exp.Count) is not None and any(c.name == "g" for c in q.find_all(exp.Column))
        ),
        "SELECT MIN(t.g) AS c0, COUNT(*) AS c1 FROM t AS t",
        id="group-by-dropped-bare-columns-wrapped",
    ),
    pytest.param(
        "SELECT a.x AS c0, a.z AS c1 FROM a AS a UNION ALL SELECT b.y AS c0, b.w AS c1 FROM b AS b",
        lambda q: isinstance(q, exp.Union) and any(c.name == "w" for c in q.find_all(exp.Column)),
        "SELECT 0 AS c1 FROM a AS a UNION ALL SELECT b.w AS c1 FROM b AS b",
        id="set-operation-sides-lose-the-same-column",
    ),
)
def test_cuts_on_written_queries(sql: str, fails: Fails, expected: str) -> None:
    assert_cuts(sql, fails, expected)


def unordered(tree: exp.Expression) -> list[str]:
    """What in a query depends on the order of rows without a total order (the generator gives
    them all one, and here every ORDER BY is total)."""
    problems = []
    for window in tree.find_all(exp.Window):
        positional = isinstance(window.this, exp.RowNumber | exp.Lead | exp.LastValue)
        if (positional or window.args.get("spec")) and window.args.get("order") is None:
            problems.append(f"unordered {window.sql()}")
    for select in tree.find_all(exp.Select):
        distinct = select.args.get("distinct")
        order = select.args.get("order")
        if distinct is not None and distinct.args.get("on") is not None:
            keys = [o.this.sql() for o in order.expressions] if order else []
            if keys[-1:] != ["t.id"]:
                problems.append(f"DISTINCT ON ordered by {keys}")
    return problems


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "SELECT ROW_NUMBER() OVER (PARTITION BY t.a ORDER BY t.id) AS c0, t.b AS c1 "
            "FROM t AS t WHERE t.a > 1",
            "SELECT ROW_NUMBER() OVER (ORDER BY t.id) AS c0 FROM t AS t",
            id="row-number",
        ),
        pytest.param(
            "SELECT LEAD(t.b, 2) OVER (ORDER BY t.a, t.id) AS c0 FROM t AS t",
            "SELECT LEAD(0, 2) OVER (ORDER BY t.a, t.id) AS c0 FROM t AS t",
            id="lead",
        ),
        pytest.param(
            "SELECT LAST_VALUE(t.b) OVER (PARTITION BY t.a ORDER BY t.id) AS c0 FROM t AS t",
            "SELECT LAST_VALUE(0) OVER (ORDER BY t.id) AS c0 FROM t AS t",
            id="last-value",
        ),
        pytest.param(
            # an aggregate may lose its order, with its ROWS frame: the whole partition
            "SELECT MIN(t.b) OVER (PARTITION BY t.a ORDER BY t.id ROWS BETWEEN 1 PRECEDING "
            "AND CURRENT ROW) AS c0 FROM t AS t",
            "SELECT MIN(0) OVER () AS c0 FROM t AS t",
            id="aggregate-loses-order-and-frame",
        ),
        pytest.param(
            "SELECT DISTINCT ON (t.a) t.a AS c0, t.b AS c1 FROM t AS t ORDER BY t.a, t.id",
            "SELECT DISTINCT ON (0) 0 AS c1 FROM t AS t ORDER BY t.a, t.id",
            id="distinct-on",
        ),
    ],
)
def test_no_cut_takes_away_the_total_order_rows_are_picked_by(sql: str, expected: str) -> None:
    """A window function of row positions, a ROWS frame and DISTINCT ON keep the ORDER BY
    the generator gave them (a total order): without it two engines may rightly answer
    differently, and a reproducer of a real bug would be one of no bug, or flip."""
    kept = (exp.Window, exp.Distinct)
    assert_cuts(sql, lambda q: q.find(*kept) is not None and not unordered(q), expected)
    oracle = Recorder(lambda q: q.find(*kept) is not None)
    reduce(parse(sql), oracle)
    for candidate in oracle.candidates:
        if candidate.find(*kept) is not None:
            assert unordered(candidate) == [], candidate.sql()
