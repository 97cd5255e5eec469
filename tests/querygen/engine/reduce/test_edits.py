"""Edits on written queries: replacements parenthesized where precedence needs it."""

from __future__ import annotations

import pytest
from sqlglot import exp

from tests.querygen.engine.reduce.helpers import Fails, assert_cuts, parse, written_queries


@written_queries(
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
)
def test_cuts_on_written_queries(sql: str, fails: Fails, expected: str) -> None:
    assert_cuts(sql, fails, expected)
