"""Candidates: every one the oracle sees is plausible SQL, smaller than the query, and reads
back as the same tree."""

from __future__ import annotations

import hashlib

from sqlglot import exp

from querygen.engine.generator import QueryGenerator
from querygen.engine.reduce import reduce, tree_size
from tests.querygen.engine.reduce.helpers import SCHEMA, Recorder, parse, sane


def shape(node: exp.Expression, out: list[str]) -> list[str]:
    """Node types in argument order, aliases left out: what must survive SQL and back."""
    if isinstance(node, exp.Alias):
        return shape(node.this, out)
    out.append(type(node).__name__)
    for key in type(node).arg_types:
        value = node.args.get(key)
        for child in value if isinstance(value, list) else [value]:
            if key != "alias" and isinstance(child, exp.Expression):
                out.append(key)
                shape(child, out)
                out.append(")")
    return out


def reads_back(tree: exp.Expression) -> bool:
    return shape(tree, []) == shape(parse(tree.sql()), [])


def test_every_candidate_is_plausible_sql_and_smaller() -> None:
    """An oracle answering yes at random (by a hash of the SQL) walks the reducer through many
    kinds of cuts; every candidate must read back as the same tree (parentheses where precedence
    needs them) and hold nothing an engine refuses outright."""
    generator = QueryGenerator(SCHEMA, seed=2)
    trees = [t for t in (generator.query(i).tree for i in range(40)) if reads_back(t)]
    assert len(trees) >= 30
    for tree in trees:
        oracle = Recorder(lambda c: hashlib.sha256(c.sql().encode()).digest()[0] % 3 == 0)
        result = reduce(tree, oracle, max_checks=80)
        size = tree_size(tree)
        for candidate in oracle.candidates:
            assert tree_size(candidate) <= size
            assert reads_back(candidate), candidate.sql()
            assert sane(candidate) == [], candidate.sql()
        assert result.checks == len(oracle.candidates) <= 80
