"""What the reducer's tests share: the querygen dataset's schema, an oracle that records the
candidates it is asked about, a check for what no engine would accept, and the check of a cut on
a written query."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlglot
from sqlglot import exp

from querygen.engine.model import Schema
from querygen.engine.reduce import reduce
from tests.querygen.conftest import QUERYGEN_TABLES

SCHEMA = Schema(tuple(QUERYGEN_TABLES))


def parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql)


def sane(tree: exp.Expression) -> list[str]:
    """What no engine would accept, found without the reducer's own checks."""
    problems = []
    aliases = {s.alias_or_name for s in tree.find_all(exp.Table, exp.Subquery)}
    problems += [f"unknown alias {c.sql()}" for c in tree.find_all(exp.Column) if c.table
                 and c.table not in aliases]  # fmt: skip
    for query in tree.find_all(exp.Select, exp.SetOperation):
        if query.args.get("limit") is not None and query.args.get("order") is None:
            problems.append("LIMIT without ORDER BY")
        if isinstance(query, exp.SetOperation):
            widths = [len(s.expressions) for s in (query.this, query.expression)
                      if isinstance(s, exp.Select)]  # fmt: skip
            if len(set(widths)) > 1:
                problems.append(f"set operation of widths {widths}")
        if isinstance(query, exp.Select) and not query.expressions:
            problems.append("empty select list")
    return problems


class Recorder:
    """An oracle that records every candidate it is asked about."""

    def __init__(self, answer: Callable[[exp.Expression], bool]) -> None:
        self.answer = answer
        self.candidates: list[exp.Expression] = []

    def __call__(self, candidate: exp.Expression) -> bool:
        self.candidates.append(candidate)
        return self.answer(candidate)


Fails = Callable[[exp.Expression], bool]


def written_queries(*cases: object) -> pytest.MarkDecorator:
    """Parametrizes a test by written queries: ``pytest.param(sql, fails, expected, id=...)``."""
    return pytest.mark.parametrize(("sql", "fails", "expected"), cases)


def assert_cuts(sql: str, fails: Fails, expected: str) -> None:
    """``sql`` fails, and reduces to ``expected`` through candidates that are all sane."""
    tree = parse(sql)
    assert fails(tree)
    oracle = Recorder(fails)
    result = reduce(tree, oracle)
    assert result.tree.sql() == expected
    for candidate in oracle.candidates:
        assert sane(candidate) == [], candidate.sql()
