"""Pass 1, whole queries: keep one side of a set operation (it takes over the WITH, ORDER BY
and LIMIT); replace a select reading a single CTE or derived table by that table's query (the CTE
is inlined that way), or by a query nested in it (a subquery, EXISTS or IN that is not
correlated); replace subqueries by constants (EXISTS and IN (SELECT ...) by TRUE/FALSE). CTEs
nothing reads any more are dropped from every candidate (candidates.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from querygen.engine.reduce.edits import Edit, _at, _Build, _children, _replace_with, _swap
from querygen.engine.reduce.kinds import _BOOL, _Kinds, _literals
from querygen.engine.reduce.scopes import _QUERIES, _cte_bodies, _in_scope, _scalar, _sources

_CARRIED = ("with_", "order", "limit", "offset")


def _keep_side(key: str) -> Edit:
    """A set operation replaced by one side, which takes over its WITH, ORDER BY and LIMIT."""

    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        side = node.args.get(key)
        while isinstance(side, exp.Subquery) and not side.alias:
            side = side.this
        if not isinstance(side, _QUERIES):
            return None
        for arg in _CARRIED:
            if node.args.get(arg) is not None:
                if side.args.get(arg) is not None:
                    return None
                side.set(arg, node.args[arg])
        return _swap(root, node, side)

    return edit


def _read_body(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
    """A select over one CTE or derived table replaced by that table's query."""
    if not isinstance(node, exp.Select) or node.args.get("joins"):
        return None
    sources = _sources(node)
    if len(sources) != 1:
        return None
    source = sources[0]
    body: exp.Expression | None = None
    if isinstance(source, exp.Subquery):
        body = source.this
    elif isinstance(source, exp.Table) and not source.db:
        body = _cte_bodies(root).get(source.name.lower())
    if not isinstance(body, _QUERIES):
        return None
    body = body.copy()
    with_ = node.args.get("with_")
    if with_ is not None:
        if body.args.get("with_") is not None:
            return None
        body.set("with_", with_)
    return _swap(root, node, body)


def _nested_queries(select: exp.Select) -> list[exp.Expression]:
    """The queries nested in ``select``'s expressions (subqueries, EXISTS, IN), not deeper."""
    found: list[exp.Expression] = []
    for node in _in_scope(select, select):
        for _, _, child in _children(node):
            if isinstance(child, exp.Subquery) and isinstance(child.this, _QUERIES):
                if not isinstance(child.parent, exp.From | exp.Join):
                    found.append(child.this)
            elif isinstance(child, _QUERIES) and child.parent is not select:
                found.append(child)
    return found


def _read_nested(index: int) -> Edit:
    """A select replaced by a query nested in it (one that is not correlated to it)."""

    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        if not isinstance(node, exp.Select):
            return None
        inner = _nested_queries(node)[index].copy()
        with_ = node.args.get("with_")
        if with_ is not None:
            if inner.args.get("with_") is not None:
                return None
            inner.set("with_", with_)
        return _swap(root, node, inner)

    return edit


def _pass_queries(tree: exp.Expression) -> Iterator[_Build]:
    kinds = _Kinds(tree)
    for i, node in enumerate(tree.walk()):
        if isinstance(node, exp.SetOperation):
            yield _at(tree, i, _keep_side("this"))
            yield _at(tree, i, _keep_side("expression"))
        elif isinstance(node, exp.Select):
            yield _at(tree, i, _read_body)
            for k in range(len(_nested_queries(node))):
                yield _at(tree, i, _read_nested(k))
        elif isinstance(node, exp.Subquery) and _scalar(node):
            for literal in _literals(kinds.of(node)):
                yield _at(tree, i, _replace_with(literal))
        elif isinstance(node, exp.Exists) or (
            isinstance(node, exp.In) and node.args.get("query") is not None
        ):
            for literal in _literals(_BOOL):
                yield _at(tree, i, _replace_with(literal))
