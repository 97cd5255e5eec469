"""Pass 4, literals: an expression is replaced by a simple literal of its kind (0, 1, '',
TRUE, FALSE, NULL) when that is smaller, constants included ('日本' -> '', 65536 -> 0).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from querygen.engine.reduce.edits import _at, _Build, _replace_with, _window_function
from querygen.engine.reduce.kinds import _Kinds, _literals
from querygen.engine.reduce.scopes import _scalar

# Literals in GROUP BY, ORDER BY (ordinals) and LIMIT change what they mean; inside a CAST or a
# type they may not parse as the type.
_LITERAL_FREE_PARENTS = (exp.Group, exp.Ordered, exp.Limit, exp.Offset, exp.Cast, exp.DataType,
                         exp.DataTypeParam)  # fmt: skip

_NO_LITERAL = (exp.Identifier, exp.DataType, exp.DataTypeParam, exp.Var, exp.Star, exp.Ordered,
               exp.Order, exp.TableAlias, exp.Table, exp.If, exp.Select, exp.SetOperation,
               exp.From, exp.Join, exp.Where, exp.Having, exp.Group, exp.Limit, exp.Offset,
               exp.With, exp.CTE, exp.Alias, exp.Distinct, exp.Null)  # fmt: skip


def _literal_ok(node: exp.Expression) -> bool:
    """Whether a literal may take the node's place."""
    if isinstance(node, _NO_LITERAL) or node.parent is None or _window_function(node):
        return False
    parent, key = node.parent, node.arg_key
    if isinstance(node, exp.Subquery) and not _scalar(node):
        return False
    if isinstance(parent, _LITERAL_FREE_PARENTS):
        return False
    # A constant PARTITION BY is a cut pass 2 makes whole; a whole WHERE or HAVING too; a whole
    # ON made TRUE is a cross join, which teaches little and may not finish in time.
    if isinstance(parent, exp.Window) and key == "partition_by":
        return False
    return not (key == "on" or isinstance(parent, exp.Where | exp.Having))


def _pass_literals(tree: exp.Expression) -> Iterator[_Build]:
    kinds = _Kinds(tree)
    for i, node in enumerate(tree.walk()):
        if not _literal_ok(node):
            continue
        for literal in _literals(kinds.of(node)):
            yield _at(tree, i, _replace_with(literal))
