"""Pass 3 on written queries: conditions cut down to parts of themselves."""

from __future__ import annotations

import pytest
from sqlglot import exp

from tests.querygen.engine.reduce.helpers import Fails, assert_cuts, written_queries


@written_queries(
    pytest.param(
        "SELECT CASE WHEN t.a > 0 THEN NOT (t.b = 1) ELSE FALSE END AS c0 FROM t AS t "
        "WHERE t.c IN (1, 2, 3) AND (t.d = 'x' OR t.e LIKE '%é%')",
        lambda q: any(isinstance(like.this, exp.Column) for like in q.find_all(exp.Like)),
        "SELECT TRUE AS c0 FROM t AS t WHERE t.e LIKE ''",
        id="conditions-cut-down",
    ),
)
def test_cuts_on_written_queries(sql: str, fails: Fails, expected: str) -> None:
    assert_cuts(sql, fails, expected)
