"""Which SQL constructs queries hold, read from their sqlglot trees.

``constructs(tree)`` names the constructs of one query, ``census(trees)`` gives the share of
queries holding each: what a run (or the benchmark) actually exercises, next to the list of
what it should (``CONSTRUCTS``). Constructs are recognised from the tree alone, not from the
generator's internals, so a reduced query or a hand-written one is read the same way.

Correlation (``correlated_in``, ``correlated_exists_*``) is read from qualified columns: a
column of a subquery whose table qualifier names no table, derived table or CTE of that
subquery refers to the outer query. An unqualified column is taken as the subquery's own.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp

__all__ = ["CONSTRUCTS", "census", "constructs"]

CONSTRUCTS: tuple[str, ...] = (
    # joins
    "join",
    "outer_join",
    "non_equi_join",  # an ON with no column = column conjunct (<, BETWEEN, OR, IS NOT DISTINCT..)
    "subquery_in_join",  # ON ... IN (SELECT ...) / EXISTS (...) / a scalar subquery
    # grouping, sorting, shaping
    "group_by",
    "having",
    "having_without_group_by",
    "distinct",
    "distinct_on",
    "order_by",
    "limit",
    "offset",
    # set operations and CTEs
    "union",  # UNION or UNION ALL
    "intersect",
    "intersect_all",
    "except",
    "except_all",
    "cte",
    # windows
    "window",
    "window_frame",  # ROWS/RANGE BETWEEN ...
    "lead_lag",
    "first_value",  # FIRST_VALUE, LAST_VALUE or NTH_VALUE
    "row_number",
    "dense_rank",
    "ntile",
    # subqueries
    "exists",
    "in_subquery",
    "scalar_subquery",
    "correlated_in",
    "correlated_exists_inequality",  # correlated through <, <=, >, >= or <>
    "correlated_exists_several",  # two or more correlated comparisons
    # expressions
    "is_distinct_from",  # IS [NOT] DISTINCT FROM
    "between",
    "like_underscore",  # a LIKE pattern with `_`
    "coalesce",
    "nullif",
    "case",
    "cast",  # a conversion: not of a literal (CAST('2020-01-01' AS DATE) is a typed literal)
)

_COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.NullSafeEQ,
                exp.NullSafeNEQ)  # fmt: skip
_INEQUALITIES = (exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)
_SUBQUERY = (exp.Exists, exp.Subquery)
# Where a Subquery is not a scalar value: a derived table, an IN's list, a set operation's
# operand, a CTE's body.
_NOT_SCALAR = (exp.From, exp.Join, exp.In, exp.SetOperation, exp.CTE, exp.Subquery,
               exp.Lateral)  # fmt: skip
# Nodes that are a construct by their type alone.
_BY_TYPE = {
    exp.NullSafeEQ: "is_distinct_from",
    exp.NullSafeNEQ: "is_distinct_from",
    exp.Offset: "offset",
    exp.Lead: "lead_lag",
    exp.Lag: "lead_lag",
    exp.FirstValue: "first_value",
    exp.LastValue: "first_value",
    exp.NthValue: "first_value",
    exp.RowNumber: "row_number",
    exp.DenseRank: "dense_rank",
    exp.Ntile: "ntile",
    exp.With: "cte",
    exp.Window: "window",
    exp.WindowSpec: "window_frame",
    exp.Limit: "limit",
    exp.Between: "between",
    exp.Coalesce: "coalesce",
    exp.Nullif: "nullif",
    exp.Case: "case",
}


def constructs(tree: exp.Expression) -> set[str]:
    """The names (of CONSTRUCTS) of the constructs ``tree`` holds."""
    found: set[str] = set()
    for node in tree.walk():
        kind = type(node)
        name = _BY_TYPE.get(kind)
        if name is not None:
            found.add(name)
            continue
        read = _READERS.get(kind)
        if read is not None:
            found.update(read(node))
    return found


def census(trees: Iterable[exp.Expression]) -> dict[str, float]:
    """Each of CONSTRUCTS (in its order) to the share of ``trees`` holding it; 0.0 for none."""
    counts = dict.fromkeys(CONSTRUCTS, 0)
    total = 0
    for tree in trees:
        total += 1
        for name in constructs(tree):
            if name in counts:
                counts[name] += 1
    return {name: count / total if total else 0.0 for name, count in counts.items()}


def _set_operation(node: exp.SetOperation) -> list[str]:
    name = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}[type(node)]
    found = [name if node.args.get("distinct") or name == "union" else f"{name}_all"]
    if node.args.get("order") is not None:
        found.append("order_by")
    return found


def _in(node: exp.In) -> list[str]:
    query = node.args.get("query")
    if query is None:
        return []
    return ["in_subquery", "correlated_in"] if _is_correlated(query) else ["in_subquery"]


def _subquery(node: exp.Subquery) -> list[str]:
    scalar = isinstance(node.this, exp.Query) and not isinstance(node.parent, _NOT_SCALAR)
    return ["scalar_subquery"] if scalar else []


def _like(node: exp.Like) -> list[str]:
    pattern = node.expression
    underscore = isinstance(pattern, exp.Literal) and pattern.is_string and "_" in pattern.name
    return ["like_underscore"] if underscore else []


def _cast(node: exp.Cast) -> list[str]:
    # Not a typed literal, nor the generator's widening of a DECIMAL SUM (a typing device).
    value = node.this.this if isinstance(node.this, exp.Neg) else node.this
    return [] if isinstance(value, exp.Literal | exp.Null | exp.Sum) else ["cast"]


def _select(select: exp.Select) -> list[str]:
    found = []
    if select.args.get("group") is not None:
        found.append("group_by")
    if select.args.get("having") is not None:
        found.append("having")
        if select.args.get("group") is None:
            found.append("having_without_group_by")
    distinct = select.args.get("distinct")
    if distinct is not None:
        found.append("distinct_on" if distinct.args.get("on") is not None else "distinct")
    if select.args.get("order") is not None:
        found.append("order_by")
    return found


def _join(join: exp.Join) -> list[str]:
    found = ["join"]
    if join.side in ("LEFT", "RIGHT", "FULL"):
        found.append("outer_join")
    on = join.args.get("on")
    if on is None:
        return found
    if not any(_is_column_equality(c) for c in _conjuncts(on)):
        found.append("non_equi_join")
    if on.find(*_SUBQUERY) is not None:
        found.append("subquery_in_join")
    return found


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def _is_column_equality(node: exp.Expression) -> bool:
    return (
        isinstance(node, exp.EQ)
        and isinstance(node.this, exp.Column)
        and isinstance(node.expression, exp.Column)
    )


def _exists(node: exp.Exists) -> list[str]:
    """exists, and correlated_exists_inequality / _several from the comparisons of its
    subquery's WHERE that read an outer column."""
    query = node.this
    where = query.args.get("where") if isinstance(query, exp.Select) else None
    if where is None:
        return ["exists"]
    own = _own_names(query)
    correlated = [
        c for c in where.find_all(*_COMPARISONS) if any(_is_outer(col, own) for col in _columns(c))
    ]
    found = ["exists"]
    if any(isinstance(c, _INEQUALITIES) for c in correlated):
        found.append("correlated_exists_inequality")
    if len(correlated) >= 2:
        found.append("correlated_exists_several")
    return found


def _is_correlated(query: exp.Expression) -> bool:
    own = _own_names(query)
    return any(_is_outer(col, own) for col in query.find_all(exp.Column))


def _own_names(query: exp.Expression) -> set[str]:
    """The names the columns of ``query`` may qualify with its own sources: its tables' and
    derived tables' aliases (or names), and its CTEs."""
    names = set()
    for node in query.find_all(exp.Table, exp.Subquery, exp.CTE):
        name = node.alias_or_name
        if name:
            names.add(name.casefold())
    return names


def _is_outer(column: exp.Column, own: set[str]) -> bool:
    table = column.table
    return bool(table) and table.casefold() not in own


def _columns(node: exp.Expression) -> list[exp.Column]:
    """The columns of a comparison, outside any subquery of it."""
    found = []
    for operand in (node.this, node.expression):
        if isinstance(operand, exp.Column):
            found.append(operand)
        elif isinstance(operand, exp.Expression) and operand.find(*_SUBQUERY) is None:
            found.extend(operand.find_all(exp.Column))
    return found


_READERS = {
    exp.Union: _set_operation,
    exp.Intersect: _set_operation,
    exp.Except: _set_operation,
    exp.Select: _select,
    exp.Join: _join,
    exp.In: _in,
    exp.Exists: _exists,
    exp.Subquery: _subquery,
    exp.Like: _like,
    exp.Cast: _cast,
}
