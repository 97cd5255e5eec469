"""Pass 2, clauses: drop joins (only when nothing left refers to the alias; the FROM table
too, the first joined one taking its place), WHERE, GROUP BY (alone when the select list stays
valid, else together with the select items that read bare columns, or with those columns wrapped
in MIN), single GROUP BY keys, HAVING, ORDER BY with its LIMIT, LIMIT, single ORDER BY keys
(never under a LIMIT: the rows kept must stay determined), DISTINCT, select items (at least one
stays; ORDER BY ordinals are renumbered or dropped, and every side of a set operation loses the
same column); outer joins become inner joins; windows lose PARTITION BY / ORDER BY.

The generator writes only queries whose answer the data determines (generator.py): what depends
on where a row is among others (ROW_NUMBER, NTILE, LEAD, LAG, FIRST_VALUE, LAST_VALUE, a ROWS
frame, DISTINCT ON, LIMIT, OFFSET) comes with a total order. No cut takes that order away: a
window of those functions keeps its ORDER BY (any other loses it with its frame, and is then
over the whole partition), DISTINCT ON its ORDER BY and each of its keys, LIMIT its ORDER BY.
Else a real bug could reduce to a query two engines may answer differently and both rightly,
a reproducer that flips, or that nobody would take for a bug.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from querygen.engine.reduce.edits import Edit, _at, _Build, _drop_arg, _drop_listed
from querygen.engine.reduce.scopes import (
    _QUERIES,
    _aggregates_in,
    _bare_columns,
    _select_parts,
)


def _drop_join(index: int) -> Edit:
    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        node.args["joins"][index].pop()
        if not node.args["joins"]:
            node.set("joins", None)
        return root

    return edit


def _promote_join(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
    """The FROM source dropped: the first joined table takes its place (its ON goes)."""
    joins = node.args.get("joins") or []
    if not joins or joins[0].args.get("using"):
        return None
    first = joins[0]
    node.set("from_", exp.From(this=first.this.pop()))
    first.pop()
    if not node.args.get("joins"):
        node.set("joins", None)
    return root


def _inner_join(index: int) -> Edit:
    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        join = node.args["joins"][index]
        if join.args.get("on") is None:
            return None
        join.set("side", None)
        join.set("kind", None)
        return root

    return edit


def _drop_ordinal(query: exp.Expression, position: int, name: str) -> bool:
    """Select item ``position`` (0-based) named ``name`` is gone: ORDER BY keys naming it go,
    later ordinals shift down. False when that would leave a LIMIT without any order."""
    order = query.args.get("order")
    if not isinstance(order, exp.Order):
        return True
    for ordered in list(order.expressions):
        key = ordered.this
        if isinstance(key, exp.Literal) and key.is_int:
            n = int(key.to_py())
            if n == position + 1:
                ordered.pop()
            elif n > position + 1:
                key.replace(exp.Literal.number(n - 1))
        elif isinstance(key, exp.Column) and not key.table and key.name.lower() == name:
            ordered.pop()
    if not order.expressions:
        if query.args.get("limit") is not None or query.args.get("offset") is not None:
            return False
        order.pop()
    return True


def _set_operation_top(select: exp.Expression) -> exp.Expression:
    """The outermost set operation ``select`` is a side of (through parenthesized sides), or
    ``select`` itself."""
    node = select
    while True:
        parent = node.parent
        side = isinstance(parent, exp.SetOperation) and node.arg_key in ("this", "expression")
        wrapped_side = (
            isinstance(parent, exp.Subquery)
            and not parent.alias
            and isinstance(parent.parent, exp.SetOperation)
        )
        if not (side or wrapped_side):
            return node
        node = parent


def _leaf_selects(query: exp.Expression) -> list[exp.Select]:
    if isinstance(query, exp.Select):
        return [query]
    if isinstance(query, exp.Subquery):
        return _leaf_selects(query.this)
    if isinstance(query, exp.SetOperation):
        return _leaf_selects(query.this) + _leaf_selects(query.expression)
    return []


def _drop_item(position: int) -> Edit:
    """Select item ``position`` dropped, from every side of a set operation alike."""

    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        top = _set_operation_top(node)
        selects = _leaf_selects(top)
        if not selects or any(
            len(s.expressions) < 2 or position >= len(s.expressions) for s in selects
        ):
            return None
        name = selects[0].expressions[position].alias_or_name.lower()
        for select in selects:
            item = select.expressions[position]
            if not _drop_ordinal(select, position, item.alias_or_name.lower()):
                return None
            item.pop()
        if top is not selects[0] and not _drop_ordinal(top, position, name):
            return None
        return root

    return edit


def _drop_group(mode: str) -> Edit:
    """GROUP BY dropped: with its HAVING ("alone"), with the select items, HAVING and ORDER BY
    keys that read bare columns ("items"), or with those columns wrapped in MIN ("wrap")."""

    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        if not isinstance(node, exp.Select) or node.args.get("group") is None:
            return None
        node.set("group", None)
        if mode == "alone":
            node.set("having", None)
            return root
        if mode == "wrap":
            for part in _select_parts(node):
                for column in _bare_columns(part, node):
                    column.replace(exp.Min(this=column.copy()))
            return root
        for position in reversed(range(len(node.expressions))):
            item = node.expressions[position]
            if _bare_columns(item, node):
                if len(node.expressions) == 1:
                    return None
                if not _drop_ordinal(node, position, item.alias_or_name.lower()):
                    return None
                item.pop()
        having = node.args.get("having")
        if having is not None and _bare_columns(having, node):
            node.set("having", None)
        order = node.args.get("order")
        if isinstance(order, exp.Order):
            for ordered in list(order.expressions):
                if _bare_columns(ordered, node):
                    ordered.pop()
            if not order.expressions:
                if node.args.get("limit") is not None:
                    return None
                order.pop()
        return root

    return edit


# Window functions whose answer depends on the order of the rows, ties apart.
_POSITIONAL = (exp.RowNumber, exp.Ntile, exp.Lead, exp.Lag, exp.FirstValue, exp.LastValue,
               exp.NthValue)  # fmt: skip


def _positional(window: exp.Window) -> bool:
    function = window.this
    while isinstance(function, exp.IgnoreNulls | exp.RespectNulls):
        function = function.this
    return isinstance(function, _POSITIONAL)


def _distinct_on(query: exp.Expression) -> bool:
    distinct = query.args.get("distinct")
    return isinstance(distinct, exp.Distinct) and distinct.args.get("on") is not None


def _clause_edits(node: exp.Expression) -> Iterator[Edit]:
    """The edits of pass 2 for one node, biggest cuts first."""
    if isinstance(node, exp.Select):
        joins = node.args.get("joins") or []
        for j in reversed(range(len(joins))):
            yield _drop_join(j)
        if joins:
            yield _promote_join
        if node.args.get("where") is not None:
            yield _drop_arg("where")
        if node.args.get("group") is not None:
            yield _drop_group("alone")
            if any(_aggregates_in(p, node) for p in _select_parts(node)):
                yield _drop_group("items")
                yield _drop_group("wrap")
            group = node.args["group"]
            for k in range(len(group.expressions)):
                yield _group_key_dropper(k)
        if node.args.get("having") is not None:
            yield _drop_arg("having")
    if isinstance(node, _QUERIES):
        has_limit = node.args.get("limit") is not None or node.args.get("offset") is not None
        if has_limit:
            if node.args.get("order") is not None:
                yield _drop_arg("order", "limit", "offset")
            yield _drop_arg("limit", "offset")
        elif node.args.get("order") is not None and not _distinct_on(node):
            yield _drop_arg("order")
    if isinstance(node, exp.Select):
        for position in range(len(node.expressions)):
            yield _drop_item(position)
        if node.args.get("distinct") is not None:
            yield _drop_arg("distinct")
        for j, join in enumerate(node.args.get("joins") or []):
            if join.args.get("side"):
                yield _inner_join(j)
    if isinstance(node, _QUERIES) and node.args.get("limit") is None:
        order = node.args.get("order")
        if (
            isinstance(order, exp.Order)
            and node.args.get("offset") is None
            and not _distinct_on(node)
        ):
            for k in range(len(order.expressions)):
                yield _order_key_dropper(k)
    if isinstance(node, exp.Window):
        partition = node.args.get("partition_by") or []
        if partition:
            yield _drop_arg("partition_by")
        if node.args.get("order") is not None and not _positional(node):
            yield _drop_arg("order", "spec")  # a ROWS frame without an order is any rows
        for k in range(len(partition) if len(partition) > 1 else 0):
            yield _drop_listed("partition_by", k)


def _group_key_dropper(index: int) -> Edit:
    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        return _drop_listed("expressions", index)(root, node.args["group"]) and root

    return edit


def _order_key_dropper(index: int) -> Edit:
    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        return _drop_listed("expressions", index)(root, node.args["order"]) and root

    return edit


def _pass_clauses(tree: exp.Expression) -> Iterator[_Build]:
    for i, node in enumerate(tree.walk()):
        for edit in _clause_edits(node):
            yield _at(tree, i, edit)
