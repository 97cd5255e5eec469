"""Kinds: enough typing to pick a literal or a child that fits (a condition, a number, a text,
a moment), guessed from the nodes of one tree and their places; and the simple literals of each
kind.
"""

from __future__ import annotations

from sqlglot import exp

_BOOL = "bool"
_NUM = "num"
_TEXT = "text"
_TIME = "time"

_BOOL_NODES = (exp.Predicate, exp.Connector, exp.Not, exp.Boolean)
_NUM_NODES = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.Abs, exp.Length,
              exp.Count, exp.Sum, exp.Avg, exp.Round, exp.BitwiseAnd, exp.BitwiseOr)  # fmt: skip
_TEXT_NODES = (exp.DPipe, exp.Substring, exp.Replace, exp.Upper, exp.Lower, exp.Trim, exp.Concat)
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ,
                exp.NullSafeNEQ)  # fmt: skip
# Nodes whose kind is their operands' kind.
_PASS_THROUGH = (exp.Paren, exp.Coalesce, exp.Min, exp.Max, exp.Nullif, exp.Case, exp.If,
                 exp.Window, exp.Alias)  # fmt: skip


def _type_kind(data_type: exp.Expression | None) -> str | None:
    if not isinstance(data_type, exp.DataType):
        return None
    if data_type.is_type(*exp.DataType.TEXT_TYPES):
        return _TEXT
    if data_type.is_type(exp.DataType.Type.BOOLEAN):
        return _BOOL
    if data_type.is_type(*exp.DataType.NUMERIC_TYPES):
        return _NUM
    if data_type.is_type(*exp.DataType.TEMPORAL_TYPES):
        return _TIME
    return None


def _value_children(node: exp.Expression) -> list[exp.Expression]:
    """The children whose value can be the node's value (CASE's branches, COALESCE's args)."""
    if isinstance(node, exp.Case):
        return [i.args.get("true") for i in node.args.get("ifs") or []] + [node.args.get("default")]
    if isinstance(node, exp.If):
        return [node.args.get("true"), node.args.get("false")]
    if isinstance(node, exp.Coalesce):
        return [node.this, *node.expressions]
    return [node.this]


class _Kinds:
    """Kinds of the nodes of one tree, guessed from the nodes themselves and their places; a
    column takes the kind found for it anywhere in the tree, under any alias of its table
    (``numbers.id`` compared with a number in one place is a number everywhere)."""

    def __init__(self, root: exp.Expression) -> None:
        self.tables = {t.alias_or_name.lower(): t.name.lower() for t in root.find_all(exp.Table)}
        self.columns: dict[tuple[str, str], str] = {}
        columns = list(root.find_all(exp.Column))
        for _ in range(3):  # a few rounds: t1.a = t2.b lets one column's kind reach the other
            known = len(self.columns)
            for column in columns:
                key = self.key(column)
                if key not in self.columns and (kind := self.context(column)) is not None:
                    self.columns[key] = kind
            if len(self.columns) == known:
                break

    def key(self, column: exp.Column) -> tuple[str, str]:
        alias = column.table.lower()
        return self.tables.get(alias, alias), column.name.lower()

    def of(self, node: exp.Expression) -> str | None:
        own = self.own(node)
        return own if own is not None else self.context(node)

    def own(self, node: exp.Expression | None) -> str | None:
        """The kind the node's value has whatever its place: None when unknown."""
        if node is None:
            return None
        if isinstance(node, exp.Column):
            return self.columns.get(self.key(node))
        if isinstance(node, exp.Literal):
            return _TEXT if node.is_string else _NUM
        if isinstance(node, _BOOL_NODES):
            return _BOOL
        if isinstance(node, _NUM_NODES):
            return _NUM
        if isinstance(node, _TEXT_NODES):
            return _TEXT
        if isinstance(node, exp.Cast):
            return _type_kind(node.args.get("to"))
        if isinstance(node, exp.Subquery | exp.Select):
            select = node.this if isinstance(node, exp.Subquery) else node
            items = select.expressions if isinstance(select, exp.Select) else []
            return self.own(items[0]) if len(items) == 1 else None
        if isinstance(node, _PASS_THROUGH):
            for child in _value_children(node):
                if isinstance(child, exp.Expression) and (kind := self.own(child)) is not None:
                    return kind
        return None

    def context(self, node: exp.Expression) -> str | None:
        """The kind the node's place asks for: None when unknown."""
        parent, key = node.parent, node.arg_key
        if parent is None:
            return None
        if isinstance(parent, exp.Paren):
            return self.context(parent)
        if isinstance(parent, exp.Add | exp.Sub | exp.Mul | exp.Div | exp.Mod | exp.Neg
                      | exp.Abs | exp.Sum | exp.Avg):  # fmt: skip
            return _NUM
        if isinstance(parent, exp.DPipe | exp.Like | exp.Upper | exp.Lower | exp.Length):
            return _TEXT
        if isinstance(parent, exp.Substring | exp.Replace):
            return _NUM if key in ("start", "length") else _TEXT
        if isinstance(parent, exp.Connector | exp.Not | exp.Where | exp.Having) or (
            key == "on" or (isinstance(parent, exp.If) and key == "this")
        ):
            return _BOOL
        siblings: list[exp.Expression | None] = []
        if isinstance(parent, _COMPARISONS):
            siblings = [parent.this, parent.expression]
        elif isinstance(parent, exp.In):
            siblings = [parent.this, *parent.expressions, parent.args.get("query")]
        elif isinstance(parent, exp.Between):
            siblings = [parent.this, parent.args.get("low"), parent.args.get("high")]
        elif isinstance(parent, _PASS_THROUGH):
            for s in _value_children(parent):
                if s is not node and (kind := self.own(s)) is not None:
                    return kind
            return None if isinstance(parent, exp.Alias) else self.context(parent)
        for s in siblings:
            if s is not node and (kind := self.own(s)) is not None:
                return kind
        return None


def _literals(kind: str | None) -> list[exp.Expression]:
    if kind == _NUM:
        return [exp.Literal.number(0), exp.Literal.number(1)]
    if kind == _TEXT:
        return [exp.Literal.string("")]
    if kind == _BOOL:
        return [exp.Boolean(this=True), exp.Boolean(this=False)]
    if kind == _TIME:
        return [exp.Null()]
    return [exp.Literal.number(0), exp.Literal.string(""), exp.Null()]
