"""A query's shape: its syntax tree with values, names and repeats taken out, so that every
query one bug fails on has the same shape (see querygen.engine.signature). Apart from the
signatures because it needs sqlglot, which the site's start-up must not load."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from sqlglot import exp

# --- query shape ----------------------------------------------------------------------------

# Nodes that are values: shown as their kind, never their text.
_VALUE_NODES: tuple[type[exp.Expression], ...] = (
    exp.Boolean,
    exp.Null,
    exp.Placeholder,
    exp.Parameter,
    exp.SessionParameter,
    exp.RawString,
    exp.HexString,
    exp.ByteString,
    exp.BitString,
    exp.National,
)
# A condition of constants alone (ON FALSE, ON 0 IN (7), ON '' IS NULL) is one shape, Const:
# what the engine does with it is one bug however it is written (an hour of the demo made 68
# groups of one SQLite bug from the ways of writing a constant false join condition).
_CONDITIONS: tuple[type[exp.Expression], ...] = (
    exp.Predicate, exp.Connector, exp.Not, exp.Boolean, exp.Xor,
)  # fmt: skip
_ROW_DEPENDENT: tuple[type[exp.Expression], ...] = (
    exp.Column, exp.Star, exp.Select, exp.Subquery, exp.AggFunc, exp.Window,
)  # fmt: skip
# Functions whose value is their arguments' alone (others may read the clock or a random
# source, or be anyone's UDF): a condition calling another is not a constant.
_PURE_FUNCTIONS: tuple[type[exp.Expression], ...] = (
    exp.Cast, exp.TryCast, exp.Coalesce, exp.Nullif, exp.Abs, exp.Length, exp.Lower, exp.Upper,
    exp.Substring, exp.Concat, exp.Case, exp.If,
)  # fmt: skip


def _constant(node: exp.Expression) -> bool:
    """Whether the condition reads nothing of a row (and calls no function that might)."""
    return not any(
        isinstance(n, _ROW_DEPENDENT)
        or (isinstance(n, exp.Func) and not isinstance(n, _PURE_FUNCTIONS + _CONDITIONS))
        for n in node.walk()
    )


# Names in these are the column's or table's own: dropped (elsewhere a name shows as "Id").
_NAMED_NODES: tuple[type[exp.Expression], ...] = (exp.Column, exp.Table, exp.Dot)


def query_shape(expr: exp.Expression) -> str:
    """The query's shape: node types in tree order, as ``Type[settings](children)``.

    Literals show as ``Literal:num`` / ``Literal:str`` (a negated number is a number), a
    condition of constants alone as ``Const`` (``ON FALSE`` and ``ON 0 IN (7)`` alike), names of
    columns and tables are dropped (a column is ``Column``, a table ``Table``), aliases and
    parentheses are left out, and a run of identical siblings in one list (``IN (1, 2, 3)``,
    ``SELECT a, b``) counts once. Kept: every operator and function (unknown functions by
    name), join side and kind, sort direction, DISTINCT, cast target types, and the argument
    each child fills when it is not the main one (``where:``, ``on:``, ``using:``...).
    """
    return _shape(expr, None)


def _shape(node: exp.Expression, parent: exp.Expression | None) -> str:
    if isinstance(node, _CONDITIONS) and _constant(node):
        return "Const"
    if isinstance(node, exp.Literal):
        return "Literal:str" if node.is_string else "Literal:num"
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        return _shape(node.this, node)
    if isinstance(node, exp.Identifier):
        return "" if isinstance(parent, _NAMED_NODES) else "Id"
    if isinstance(node, exp.TableAlias):
        return ""
    if isinstance(node, exp.Alias | exp.Paren):
        return _shape(node.this, parent) if isinstance(node.this, exp.Expression) else ""
    name = type(node).__name__
    if isinstance(node, _VALUE_NODES):
        return name

    settings: list[str] = []
    children: list[str] = []
    for key in type(node).arg_types:
        value = node.args.get(key)
        if value is None or value is False or value == []:
            continue
        if key == "alias" and not isinstance(value, exp.Expression | list):
            continue
        if isinstance(value, exp.Expression):
            parts = [_shape(value, node)]
        elif isinstance(value, list):
            parts = _collapse(_shape(v, node) for v in value if isinstance(v, exp.Expression))
        else:
            settings.append(_setting(node, key, value))
            continue
        parts = [p for p in parts if p]
        if not parts:
            continue
        label = "" if key in ("this", "expression", "expressions") else f"{key.rstrip('_')}:"
        children.append(label + " ".join(parts))
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc):
        settings = [s.upper() for s in settings]
    head = name + (f"[{','.join(settings)}]" if settings else "")
    return head + (f"({' '.join(children)})" if children else "")


def _setting(node: exp.Expression, key: str, value: Any) -> str:
    if value is True:
        return key
    text = value.name if isinstance(value, enum.Enum) else str(value)
    # Anonymous functions and keywords (Var) are named by their text; it is not a user's name.
    return text if key == "this" else f"{key}={text}"


def _collapse(parts: Iterable[str]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if not out or out[-1] != p:
            out.append(p)
    return out
