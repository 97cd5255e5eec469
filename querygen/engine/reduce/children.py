"""Pass 3, expressions: a node is replaced by one of its children of the same kind: AND/OR by
one side, NOT x by x, CASE by a branch, a function by an argument, parentheses removed where
precedence allows; BETWEEN becomes one comparison; IN lists, COALESCE and CASE lose items.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from querygen.engine.reduce.edits import (
    Edit,
    _at,
    _Build,
    _children,
    _drop_arg,
    _drop_listed,
    _is_operator,
    _replace_with_child,
    _swap,
    _window_function,
)
from querygen.engine.reduce.kinds import _BOOL, _Kinds

# Children that are not values: replacing a node by one of them means nothing.
_NOT_VALUES = (exp.Identifier, exp.DataType, exp.DataTypeParam, exp.Var, exp.Star, exp.Ordered,
               exp.Order, exp.TableAlias, exp.Table, exp.If, exp.Subquery, exp.Select,
               exp.SetOperation, exp.Distinct, exp.WindowSpec)  # fmt: skip
# Nodes that are not expressions of a value: never replaced by a child or a literal.
_STRUCTURE = (exp.Identifier, exp.DataType, exp.DataTypeParam, exp.Var, exp.Star, exp.Ordered,
              exp.Order, exp.TableAlias, exp.Table, exp.If, exp.Select, exp.SetOperation,
              exp.From, exp.Join, exp.Where, exp.Having, exp.Group, exp.Limit, exp.Offset,
              exp.With, exp.CTE, exp.Alias, exp.Distinct, exp.Column, exp.Literal, exp.Null,
              exp.Boolean, exp.WindowSpec)  # fmt: skip


def _child_edits(node: exp.Expression, kinds: _Kinds) -> Iterator[Edit]:
    if isinstance(node, exp.Distinct):
        # COUNT(DISTINCT x) -> COUNT(x)
        if isinstance(node.parent, exp.AggFunc) and len(node.expressions) == 1:
            yield _replace_with_child("expressions", 0)
        return
    if isinstance(node, _STRUCTURE) or _window_function(node):
        return
    if isinstance(node, exp.Paren):
        if not (_is_operator(node.this) and node.parent is not None and _is_operator(node.parent)):
            yield _replace_with_child("this")
        return
    if isinstance(node, exp.Case):
        for k, branch in enumerate(node.args.get("ifs") or []):
            if branch.args.get("true") is not None:
                yield _case_branch(k)
        if node.args.get("default") is not None:
            yield _replace_with_child("default")
        ifs = node.args.get("ifs") or []
        if kinds.of(node) == _BOOL:
            # CASE WHEN c THEN TRUE END -> c: a condition for a condition
            for k in range(len(ifs)):
                yield _case_branch(k, "this")
        for k in range(len(ifs)):
            yield _drop_listed("ifs", k)
        if node.args.get("default") is not None:
            yield _drop_arg("default")
        return
    if isinstance(node, exp.Between):
        yield _between_side("low")
        yield _between_side("high")
    kind = kinds.of(node)
    for key, index, child in _children(node):
        if isinstance(child, _NOT_VALUES) or key == "partition_by":
            continue
        if _fits(kind, kinds.of(child)):
            yield _replace_with_child(key, index)
    if isinstance(node, exp.In) and node.args.get("query") is None:
        for k in range(len(node.expressions)):
            yield _drop_listed("expressions", k)
    if isinstance(node, exp.Coalesce):
        for k in range(len(node.expressions)):
            yield _drop_listed("expressions", k)  # COALESCE(x) alone: SQLite refuses it


def _fits(kind: str | None, child_kind: str | None) -> bool:
    """Whether a child of ``child_kind`` may stand where a ``kind`` was: a condition only for a
    condition (a bare value is no condition to DuckDB), unknown kinds for anything else."""
    if kind == _BOOL or child_kind == _BOOL:
        return kind == child_kind
    return kind is None or child_kind is None or kind == child_kind


def _case_branch(index: int, key: str = "true") -> Edit:
    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        return _swap(root, node, node.args["ifs"][index].args[key])

    return edit


def _between_side(key: str) -> Edit:
    """x BETWEEN a AND b -> x >= a (or x <= b)."""

    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        op = exp.GTE if key == "low" else exp.LTE
        bound = node.args.get(key)
        if bound is None:
            return None
        return _swap(root, node, op(this=node.this.pop(), expression=bound.pop()))

    return edit


def _pass_children(tree: exp.Expression) -> Iterator[_Build]:
    kinds = _Kinds(tree)
    for i, node in enumerate(tree.walk()):
        for edit in _child_edits(node, kinds):
            yield _at(tree, i, edit)
