"""The cuts the passes make (queries.py, clauses.py, children.py, literals.py, with the edits
of edits.py), each on a written query reduced whole."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlglot import exp

from querygen.engine.reduce import reduce
from tests.querygen.engine.reduce.helpers import Recorder, parse, sane


def ordered_by(query: exp.Expression) -> set[str]:
    """The columns the select items that ORDER BY ordinals point at read."""
    order = query.args.get("order")
    positions = [int(o.this.name) for o in (order.expressions if order else []) if o.this.is_int]
    items = [query.expressions[p - 1] for p in positions]
    return {c.name for item in items for c in item.find_all(exp.Column)}


@pytest.mark.parametrize(
    ("sql", "fails", "expected"),
    [
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
            "SELECT a.x AS c0 FROM a AS a UNION SELECT b.y AS c0 FROM b AS b ORDER BY 1 LIMIT 3",
            lambda q: (
                q.find(exp.Limit) is not None and any(t.name == "b" for t in q.find_all(exp.Table))
            ),
            "SELECT 0 AS c0 FROM b AS b ORDER BY 1 LIMIT 3",
            id="set-operation-side-keeps-order-and-limit",
        ),
        pytest.param(
            "SELECT a.x AS c0, a.z AS c1 FROM a AS a UNION ALL "
            "SELECT b.y AS c0, b.w AS c1 FROM b AS b",
            lambda q: (
                isinstance(q, exp.Union) and any(c.name == "w" for c in q.find_all(exp.Column))
            ),
            "SELECT 0 AS c1 FROM a AS a UNION ALL SELECT b.w AS c1 FROM b AS b",
            id="set-operation-sides-lose-the-same-column",
        ),
        pytest.param(
            "SELECT ABS(t.a + t.b) * t.c AS c0 FROM t AS t",
            # (a + b) * c: the product must stay on top once ABS goes
            lambda q: (
                isinstance(m := parse(q.sql()).find(exp.Mul), exp.Mul)
                and m.this.find(exp.Add) is not None
            ),
            "SELECT (0 + 0) * 0 AS c0 FROM t AS t",
            id="parentheses-kept-where-precedence-needs-them",
        ),
        pytest.param(
            "WITH w AS (SELECT t.a AS c0 FROM t AS t WHERE t.a > 1), u AS (SELECT 1 AS c0) "
            "SELECT v.c0 AS c0 FROM w AS v WHERE v.c0 < 5",
            lambda q: q.find(exp.GT) is not None,
            "SELECT 0 AS c0 FROM t AS t WHERE 0 > 1",
            id="cte-read-in-place-and-unused-dropped",
        ),
        pytest.param(
            "SELECT CASE WHEN t.a > 0 THEN NOT (t.b = 1) ELSE FALSE END AS c0 FROM t AS t "
            "WHERE t.c IN (1, 2, 3) AND (t.d = 'x' OR t.e LIKE '%é%')",
            lambda q: any(isinstance(like.this, exp.Column) for like in q.find_all(exp.Like)),
            "SELECT TRUE AS c0 FROM t AS t WHERE t.e LIKE ''",
            id="conditions-cut-down",
        ),
    ],
)
def test_cuts_on_written_queries(
    sql: str, fails: Callable[[exp.Expression], bool], expected: str
) -> None:
    tree = parse(sql)
    assert fails(tree)
    oracle = Recorder(fails)
    result = reduce(tree, oracle)
    assert result.tree.sql() == expected
    for candidate in oracle.candidates:
        assert sane(candidate) == [], candidate.sql()
