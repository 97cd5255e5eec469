"""What every candidate goes through before the oracle sees it: CTEs nothing reads any more
are dropped, and candidates no engine would accept are not tried.

Candidates the engines would refuse only cost a check, but obviously invalid ones are not tried:
every candidate is checked first for qualified columns that no longer resolve (a dropped join's
alias, a dropped output column of a CTE or derived table), bare columns next to aggregates
without a GROUP BY covering them, ORDER BY ordinals out of range, set operations with sides of
different widths, aggregates where none may be, and scalar subqueries that could return more
than one row.
"""

from __future__ import annotations

from sqlglot import exp

from querygen.engine.reduce.scopes import (
    _QUERIES,
    _aggregates_in,
    _aggregating,
    _bare_columns,
    _cte_bodies,
    _grouped,
    _in_scope,
    _ordinals,
    _scalar,
    _select_parts,
    _sources,
    _width,
)


def _plausible(root: exp.Expression) -> bool:
    ctes = _cte_bodies(root)
    for node in root.walk():
        if isinstance(node, exp.Select) and not _select_ok(node):
            return False
        if isinstance(node, _QUERIES) and not _order_ok(node):
            return False
        if isinstance(node, exp.SetOperation) and _width(node.this) != _width(node.expression):
            return False
        if isinstance(node, exp.Column) and node.table and not _resolves(node, ctes):
            return False
        if isinstance(node, exp.Subquery) and _scalar(node) and not _one_row(node.this):
            return False
        if isinstance(node, exp.AggFunc) and _nested_aggregate(node):
            return False
    return True


def _nested_aggregate(aggregate: exp.AggFunc) -> bool:
    """An aggregate inside an aggregate of the same query (none allows that)."""
    if isinstance(aggregate.parent, exp.Window):
        return False
    return any(
        isinstance(n, exp.AggFunc) for n in _in_scope(aggregate, aggregate) if n is not aggregate
    )


def _select_ok(select: exp.Select) -> bool:
    if not select.expressions:
        return False
    for key in ("where", "group"):
        part = select.args.get(key)
        if part is not None and _aggregates_in(part, select):
            return False
    for source in _sources(select):
        on = source.parent.args.get("on") if isinstance(source.parent, exp.Join) else None
        if on is not None and _aggregates_in(on, select):
            return False
    if not _aggregating(select):
        return True
    # SQLite refuses HAVING in a query that neither groups nor aggregates in its select list.
    if (
        select.args.get("having") is not None
        and select.args.get("group") is None
        and not any(_aggregates_in(item, select) for item in select.expressions)
    ):
        return False
    group = select.args.get("group")
    keys = {k.sql() for k in group.expressions} if isinstance(group, exp.Group) else set()
    outputs = {name.lower() for name in select.named_selects}
    for part in _select_parts(select):
        for column in _bare_columns(part, select):
            if not column.table and column.name.lower() in outputs:
                continue  # an output column's name (ORDER BY c0)
            if not _grouped(column, keys, select):
                return False
    return True


def _order_ok(query: exp.Expression) -> bool:
    width = _width(query)
    return width is None or all(1 <= int(o.this.to_py()) <= width for o in _ordinals(query))


def _resolves(column: exp.Column, ctes: dict[str, exp.Expression]) -> bool:
    """Whether a qualified column names a source of an enclosing select (and, for a derived
    table or CTE, one of its output columns)."""
    alias = column.table.lower()
    node = column.parent
    while node is not None:
        if isinstance(node, exp.Select):
            for source in _sources(node):
                if source.alias_or_name.lower() != alias:
                    continue
                body: exp.Expression | None = None
                if isinstance(source, exp.Subquery):
                    body = source.this
                elif isinstance(source, exp.Table) and not source.db:
                    body = ctes.get(source.name.lower())
                if body is None or not isinstance(body, _QUERIES):
                    return True
                return column.name.lower() in {n.lower() for n in body.named_selects}
        node = node.parent
    return False


def _one_row(query: exp.Expression | None) -> bool:
    """Whether a scalar subquery's query gives at most one row: aggregates, no GROUP BY."""
    return (
        isinstance(query, exp.Select)
        and len(query.expressions) == 1
        and query.args.get("group") is None
        and any(_aggregates_in(item, query) for item in query.expressions)
    )


def _drop_unused_ctes(root: exp.Expression) -> None:
    """Drop CTEs nothing reads (a cut elsewhere may have removed their last reader)."""
    changed = True
    while changed:
        changed = False
        for with_ in list(root.find_all(exp.With)):
            for cte in list(with_.expressions):
                name = cte.alias.lower()
                readers = (
                    t
                    for t in root.find_all(exp.Table)
                    if not t.db
                    and t.name.lower() == name
                    and all(a is not cte for a in _ancestors(t))
                )
                if next(readers, None) is None:
                    cte.pop()
                    changed = True
            if not with_.expressions:
                with_.pop()


def _ancestors(node: exp.Expression) -> list[exp.Expression]:
    found = []
    while node.parent is not None:
        node = node.parent
        found.append(node)
    return found
