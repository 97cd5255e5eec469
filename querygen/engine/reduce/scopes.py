"""Queries and their scopes: the sources of a select, the nodes that belong to it rather than
to a query nested in it, its aggregates and bare columns, its CTEs, and which subqueries stand
for a value.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from querygen.engine.reduce.edits import _children

_QUERIES = exp.Select | exp.SetOperation


def _sources(select: exp.Select) -> list[exp.Expression]:
    """The FROM source and the joined ones, in order."""
    from_ = select.args.get("from_")
    first = [from_.this] if isinstance(from_, exp.From) else []
    return first + [j.this for j in select.args.get("joins") or []]


def _leftmost(query: exp.Expression) -> exp.Select | None:
    while isinstance(query, exp.SetOperation | exp.Subquery):
        query = query.this
    return query if isinstance(query, exp.Select) else None


def _width(query: exp.Expression) -> int | None:
    select = _leftmost(query)
    return len(select.expressions) if select is not None else None


def _in_scope(node: exp.Expression, stop: exp.Expression) -> Iterator[exp.Expression]:
    """Nodes under ``node`` that belong to the query ``stop``: nested queries are left out."""
    yield node
    for _, _, child in _children(node):
        if isinstance(child, _QUERIES | exp.Subquery) and child is not stop:
            continue
        yield from _in_scope(child, stop)


def _aggregates_in(node: exp.Expression, select: exp.Select) -> bool:
    """Whether ``node`` holds an aggregate of ``select`` (window aggregates are not)."""
    return any(
        isinstance(n, exp.AggFunc) and not isinstance(n.parent, exp.Window)
        for n in _in_scope(node, select)
    )


def _bare_columns(node: exp.Expression, select: exp.Select) -> list[exp.Column]:
    """Columns of ``select``'s own sources outside its aggregates."""
    own = {s.alias_or_name.lower() for s in _sources(select)}
    found: list[exp.Column] = []

    def visit(n: exp.Expression) -> None:
        if isinstance(n, exp.AggFunc) and not isinstance(n.parent, exp.Window):
            return
        if isinstance(n, _QUERIES | exp.Subquery):
            return
        if isinstance(n, exp.Column) and (not n.table or n.table.lower() in own):
            found.append(n)
            return
        for _, _, child in _children(n):
            visit(child)

    visit(node)
    return found


def _select_parts(select: exp.Select) -> list[exp.Expression]:
    """The parts of a select that aggregation constrains: items, HAVING, ORDER BY."""
    parts: list[exp.Expression] = list(select.expressions)
    for key in ("having", "order"):
        if isinstance(select.args.get(key), exp.Expression):
            parts.append(select.args[key])
    return parts


def _aggregating(select: exp.Select) -> bool:
    return (
        select.args.get("group") is not None
        or select.args.get("having") is not None
        or any(_aggregates_in(p, select) for p in _select_parts(select))
    )


def _grouped(column: exp.Column, keys: set[str], select: exp.Select) -> bool:
    node: exp.Expression | None = column
    while node is not None and node is not select:
        if node.sql() in keys:
            return True
        node = node.parent
    return False


def _ordinals(query: exp.Expression) -> list[exp.Ordered]:
    order = query.args.get("order")
    if not isinstance(order, exp.Order):
        return []
    return [
        o
        for o in order.expressions
        if isinstance(o, exp.Ordered) and isinstance(o.this, exp.Literal) and o.this.is_int
    ]


def _cte_bodies(root: exp.Expression) -> dict[str, exp.Expression]:
    return {
        cte.alias.lower(): cte.this
        for cte in root.find_all(exp.CTE)
        if isinstance(cte.this, exp.Expression)
    }


def _scalar(subquery: exp.Subquery) -> bool:
    """Whether the subquery stands for a value (not a table, an IN list or a set op's side)."""
    parent = subquery.parent
    if isinstance(parent, exp.From | exp.Join | exp.Exists | exp.SetOperation | exp.CTE) or (
        isinstance(parent, exp.In) and subquery.arg_key == "query"
    ):
        return False
    return isinstance(subquery.this, exp.Select)
