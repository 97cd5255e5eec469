"""Pass 1 on written queries: a set operation's side, a CTE read in place."""

from __future__ import annotations

import pytest
from sqlglot import exp

from tests.querygen.engine.reduce.helpers import Fails, assert_cuts, written_queries


@written_queries(
    pytest.param(
        "SELECT a.x AS c0 FROM a AS a UNION SELECT b.y AS c0 FROM b AS b ORDER BY 1 LIMIT 3",
        lambda q: (
            q.find(exp.Limit) is not None and any(t.name == "b" for t in q.find_all(exp.Table))
        ),
        "SELECT 0 AS c0 FROM b AS b ORDER BY 1 LIMIT 3",
        id="set-operation-side-keeps-order-and-limit",
    ),
    pytest.param(
        "WITH w AS (SELECT t.a AS c0 FROM t AS t WHERE t.a > 1), u AS (SELECT 1 AS c0) "
        "SELECT v.c0 AS c0 FROM w AS v WHERE v.c0 < 5",
        lambda q: q.find(exp.GT) is not None,
        "SELECT 0 AS c0 FROM t AS t WHERE 0 > 1",
        id="cte-read-in-place-and-unused-dropped",
    ),
)
def test_cuts_on_written_queries(sql: str, fails: Fails, expected: str) -> None:
    assert_cuts(sql, fails, expected)
