"""Reduce a failing query to a small one that fails the same way (test-case reduction, in the
manner of C-Reduce and SQLancer's reducer, over sqlglot trees).

``reduce(tree, still_fails)`` tries smaller variants of the query and keeps one whenever
``still_fails(candidate)`` says the same discrepancy is still there (the caller re-runs its oracle
and decides what "the same" means: the same comparison kind, the same normalized error...). It is
greedy and runs to a fixpoint, in passes ordered from the biggest cuts to the smallest:

1. queries: keep one side of a set operation (it takes over the WITH, ORDER BY and LIMIT);
   replace a select reading a single CTE or derived table by that table's query (the CTE is
   inlined that way), or by a query nested in it (a subquery, EXISTS or IN that is not
   correlated); replace subqueries by constants (EXISTS and IN (SELECT ...) by TRUE/FALSE).
   CTEs nothing reads any more are dropped from every candidate.
2. clauses: drop joins (only when nothing left refers to the alias; the FROM table too, the
   first joined one taking its place), WHERE, GROUP BY (alone when
   the select list stays valid, else together with the select items that read bare columns, or
   with those columns wrapped in MIN), single GROUP BY keys, HAVING, ORDER BY with its LIMIT,
   LIMIT, single ORDER BY keys (never under a LIMIT: the rows kept must stay determined),
   DISTINCT, select items (at least one stays; ORDER BY ordinals are renumbered or dropped, and
   every side of a set operation loses the same column); outer joins become inner joins;
   windows lose PARTITION BY / ORDER BY.
3. expressions: a node is replaced by one of its children of the same kind: AND/OR by one side,
   NOT x by x, CASE by a branch, a function by an argument, parentheses removed where precedence
   allows; BETWEEN becomes one comparison; IN lists, COALESCE and CASE lose items.
4. literals: an expression is replaced by a simple literal of its kind (0, 1, '', TRUE, FALSE,
   NULL) when that is smaller, constants included ('日本' -> '', 65536 -> 0).

Within a pass, after a success the pass goes on from the same position in the new tree, and the
passes repeat until a whole round changes nothing or ``max_checks`` calls of ``still_fails`` have
been made.

Size: the number of nodes of the tree, ``len(list(tree.walk()))`` (every node counts:
identifiers, literals, data types). A candidate is kept only when it is strictly smaller by
(size, length of its SQL text); the text length lets same-size simplifications through (an outer
join made inner, a long literal made short) and the order guarantees the reduction ends.

Candidates the engines would refuse only cost a check, but obviously invalid ones are not tried:
every candidate is checked first for qualified columns that no longer resolve (a dropped join's
alias, a dropped output column of a CTE or derived table), bare columns next to aggregates
without a GROUP BY covering them, ORDER BY ordinals out of range, set operations with sides of
different widths, aggregates where none may be, and scalar subqueries that could return more
than one row. Replacements are parenthesized where an operator meets an operator, since sqlglot
renders the tree as it is, without adding the parentheses precedence would need.

The input tree is never changed (every candidate is a copy), and the result depends only on the
input and on the answers of ``still_fails``: the same input and oracle give the same result.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlglot import exp

__all__ = ["Reduction", "reduce", "tree_size"]

StillFails = Callable[[exp.Expression], bool]
# A candidate, built on demand (copying the tree costs more than deciding to skip it); None when
# the edit turns out not to apply.
_Build = Callable[[], exp.Expression | None]


@dataclass(frozen=True)
class Reduction:
    """The reduced tree, the sizes before and after (nodes, see ``tree_size``), and how many
    times ``still_fails`` was called."""

    tree: exp.Expression
    original_size: int
    reduced_size: int
    checks: int

    @property
    def ratio(self) -> float:
        return self.reduced_size / self.original_size if self.original_size else 1.0


def tree_size(tree: exp.Expression) -> int:
    """The size reductions are measured in: the number of nodes, ``len(list(tree.walk()))``."""
    return sum(1 for _ in tree.walk())


def reduce(tree: exp.Expression, still_fails: StillFails, *, max_checks: int = 500) -> Reduction:
    """Reduce ``tree`` while ``still_fails(candidate)`` holds; see the module docstring.

    ``still_fails`` gets a copy of each candidate (it may keep or change it) and is called at
    most ``max_checks`` times. The tree given is assumed to fail; it is not checked again.
    """
    if max_checks < 0:
        raise ValueError(f"max_checks must be >= 0, not {max_checks!r}")
    reducer = _Reducer(tree.copy(), still_fails, max_checks)
    reducer.run()
    return Reduction(
        tree=reducer.tree,
        original_size=tree_size(tree),
        reduced_size=tree_size(reducer.tree),
        checks=reducer.checks,
    )


class _Reducer:
    def __init__(self, tree: exp.Expression, still_fails: StillFails, max_checks: int) -> None:
        self.tree = tree
        self.still_fails = still_fails
        self.max_checks = max_checks
        self.checks = 0
        sql = tree.sql()
        self.measure = (tree_size(tree), len(sql))
        self.seen = {sql}

    @property
    def exhausted(self) -> bool:
        return self.checks >= self.max_checks

    def run(self) -> None:
        progress = True
        while progress and not self.exhausted:
            progress = False
            for make in _PASSES:
                progress = self._pass(make) or progress
                if self.exhausted:
                    return

    def _pass(self, make: Callable[[exp.Expression], Iterator[_Build]]) -> bool:
        start, progressed = 0, False
        while not self.exhausted:
            accepted = None
            for position, build in enumerate(make(self.tree)):
                if position < start:
                    continue
                if self._try(build):
                    accepted = position
                    break
                if self.exhausted:
                    break
            if accepted is None:
                break
            # Candidates before this position failed on a bigger tree; the next round retries.
            progressed, start = True, accepted
        return progressed

    def _try(self, build: _Build) -> bool:
        candidate = build()
        if candidate is None:
            return False
        _drop_unused_ctes(candidate)
        sql = candidate.sql()
        if sql in self.seen:
            return False
        self.seen.add(sql)
        measure = (tree_size(candidate), len(sql))
        if measure >= self.measure or not _plausible(candidate):
            return False
        self.checks += 1
        if not self.still_fails(candidate.copy()):
            return False
        self.tree, self.measure = candidate, measure
        return True


# --- editing copies ---------------------------------------------------------------------------

Edit = Callable[[exp.Expression, exp.Expression], exp.Expression | None]


def _at(tree: exp.Expression, index: int, edit: Edit) -> _Build:
    """A candidate: ``edit(root, node)`` applied to a copy, ``node`` being the copy's node at
    position ``index`` of ``walk()`` (a copy walks in the same order)."""

    def build() -> exp.Expression | None:
        root = tree.copy()
        node = next(itertools.islice(root.walk(), index, None))
        return edit(root, node)

    return build


def _is_operator(node: exp.Expression) -> bool:
    """Whether the node renders as an operator whose operands precedence binds."""
    return isinstance(node, exp.Binary | exp.Unary | exp.Predicate) and not isinstance(
        node, exp.Paren | exp.Exists
    )


def _swap(root: exp.Expression, node: exp.Expression, new: exp.Expression) -> exp.Expression:
    """Put ``new`` (a fresh node or a descendant of ``node``) where ``node`` is; the new root."""
    if new.parent is not None:
        new.pop()
    parent = node.parent
    if parent is None:
        return new
    if _is_operator(new) and _is_operator(parent):
        new = exp.Paren(this=new)
    node.replace(new)
    return root


def _replace_with(new: exp.Expression) -> Edit:
    return lambda root, node: _swap(root, node, new.copy())


def _replace_with_child(key: str, index: int | None = None) -> Edit:
    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        value = node.args.get(key)
        child = value[index] if isinstance(value, list) and index is not None else value
        if not isinstance(child, exp.Expression):
            return None
        return _swap(root, node, child)

    return edit


def _children(node: exp.Expression) -> Iterator[tuple[str, int | None, exp.Expression]]:
    """(arg key, list index or None, child) for each child node, in argument order."""
    for key in type(node).arg_types:
        value = node.args.get(key)
        if isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, exp.Expression):
                    yield key, i, v
        elif isinstance(value, exp.Expression):
            yield key, None, value


# --- kinds: enough typing to pick a literal or a child that fits --------------------------------

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


# --- queries and their scopes -------------------------------------------------------------------

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


# --- plausibility: what no engine would accept ---------------------------------------------------


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


def _cte_bodies(root: exp.Expression) -> dict[str, exp.Expression]:
    return {
        cte.alias.lower(): cte.this
        for cte in root.find_all(exp.CTE)
        if isinstance(cte.this, exp.Expression)
    }


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


def _scalar(subquery: exp.Subquery) -> bool:
    """Whether the subquery stands for a value (not a table, an IN list or a set op's side)."""
    parent = subquery.parent
    if isinstance(parent, exp.From | exp.Join | exp.Exists | exp.SetOperation | exp.CTE) or (
        isinstance(parent, exp.In) and subquery.arg_key == "query"
    ):
        return False
    return isinstance(subquery.this, exp.Select)


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


# --- pass 1: whole queries -------------------------------------------------------------------

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


# --- pass 2: clauses ------------------------------------------------------------------------------


def _drop_arg(*keys: str) -> Edit:
    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        if all(node.args.get(k) is None for k in keys):
            return None
        for k in keys:
            node.set(k, None)
        return root

    return edit


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


def _drop_listed(key: str, index: int, *, keep: int = 1) -> Edit:
    """Item ``index`` of the node's ``key`` list dropped, keeping at least ``keep`` items (the
    arg is removed when it may be empty)."""

    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        items = node.args.get(key) or []
        if len(items) <= keep or index >= len(items):
            return None
        items[index].pop()
        if not node.args.get(key):
            node.set(key, None)
        return root

    return edit


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
        elif node.args.get("order") is not None:
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
        if isinstance(order, exp.Order) and node.args.get("offset") is None:
            for k in range(len(order.expressions)):
                yield _order_key_dropper(k)
    if isinstance(node, exp.Window):
        partition = node.args.get("partition_by") or []
        if partition:
            yield _drop_arg("partition_by")
        if node.args.get("order") is not None:
            yield _drop_arg("order")
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


# --- pass 3: expressions replaced by a part of themselves ----------------------------------------

# Children that are not values: replacing a node by one of them means nothing.
_NOT_VALUES = (exp.Identifier, exp.DataType, exp.DataTypeParam, exp.Var, exp.Star, exp.Ordered,
               exp.Order, exp.TableAlias, exp.Table, exp.If, exp.Subquery, exp.Select,
               exp.SetOperation, exp.Distinct)  # fmt: skip
# Nodes that are not expressions of a value: never replaced by a child or a literal.
_STRUCTURE = (exp.Identifier, exp.DataType, exp.DataTypeParam, exp.Var, exp.Star, exp.Ordered,
              exp.Order, exp.TableAlias, exp.Table, exp.If, exp.Select, exp.SetOperation,
              exp.From, exp.Join, exp.Where, exp.Having, exp.Group, exp.Limit, exp.Offset,
              exp.With, exp.CTE, exp.Alias, exp.Distinct, exp.Column, exp.Literal, exp.Null,
              exp.Boolean)  # fmt: skip


def _window_function(node: exp.Expression) -> bool:
    """Whether the node is the function of a window (OVER needs a function before it)."""
    return isinstance(node.parent, exp.Window) and node.arg_key == "this"


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


# --- pass 4: literals -----------------------------------------------------------------------------

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


_PASSES: tuple[Callable[[exp.Expression], Iterator[_Build]], ...] = (
    _pass_queries,
    _pass_clauses,
    _pass_children,
    _pass_literals,
)
