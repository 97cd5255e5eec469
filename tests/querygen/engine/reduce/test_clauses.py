"""Pass 2 on written queries: joins, GROUP BY, select items and their ORDER BY ordinals."""

from __future__ import annotations

import pytest
from sqlglot import exp

from tests.querygen.engine.reduce.helpers import Fails, assert_cuts, written_queries


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
