"""Random typed queries as sqlglot expression trees, from a schema and a profile.

Every query is reproducible from (seed, index): `QueryGenerator(schema, profile, seed)
.query(index)` builds the same tree anywhere. Expressions are typed (model.SqlType) so that
operators only meet operands of the type they mean, and the generator avoids constructs whose
answer is not determined by the data (LIMIT without a total order, ROW_NUMBER over ties):
a difference between two engines must be a difference of the engines, not of the query.

Where engines give a construct different meanings, the tree says what it means explicitly:
divisions are on floats with a NULLIF guard against zero (no integer division), ORDER BY says
NULLS FIRST/LAST (sqlglot renders it where a dialect's default differs), dates and timestamps are
typed literals, and no implicit cast between types is ever relied on.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlglot import exp

from .model import Column, Schema, SqlType, Table
from .profile import Profile

COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)
ORDERABLE = (SqlType.INT, SqlType.FLOAT, SqlType.DECIMAL, SqlType.TEXT, SqlType.DATE,
             SqlType.TIMESTAMP)  # fmt: skip
STRINGS = ("", "a", "A", "abc", "ab%", "x_y", " a ", "é", "日本", "0", "-1", "NULL", "zz")


def query_rng(seed: int, index: int) -> random.Random:
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))  # noqa: S311 (not a secret)


@dataclass
class Scope:
    """The tables a query's expressions may read: (alias, table) in FROM order."""

    sources: list[tuple[str, Table]] = field(default_factory=list)
    outer: Scope | None = None

    def columns(self, t: SqlType | None = None) -> list[tuple[str, Column]]:
        return [
            (alias, c)
            for alias, table in self.sources
            for c in table.columns
            if t is None or c.type == t
        ]


@dataclass
class Query:
    """A generated query: its tree, the types of its output columns, and what fixes its row
    order (the positions of the ORDER BY keys), for the comparison."""

    tree: exp.Expression
    types: list[SqlType]
    order_keys: list[int] | None = None
    seed: int = 0
    index: int = 0


class QueryGenerator:
    def __init__(self, schema: Schema, profile: Profile | None = None, seed: int = 0) -> None:
        if not schema.tables:
            raise ValueError("the schema has no table both engines agree on")
        self.schema = schema
        self.profile = profile or Profile()
        self.seed = seed
        self._aliases = 0

    # --- queries --------------------------------------------------------------------------------

    def query(self, index: int) -> Query:
        self.rng = query_rng(self.seed, index)
        self._aliases = 0
        p = self.profile
        if p.set_ops and self.rng.random() < p.p_set_op:
            q = self._set_operation()
        else:
            q = self._select(Scope(), depth=0, top=True)
        if self.rng.random() < p.p_with:
            q = self._with_cte(q)
        q.seed, q.index = self.seed, index
        return q

    def _alias(self) -> str:
        self._aliases += 1
        return f"t{self._aliases}"

    def _from(self, scope: Scope, max_tables: int | None = None) -> exp.Select:
        p = self.profile
        first = self.rng.choice(self.schema.tables)
        alias = self._alias()
        scope.sources.append((alias, first))
        select = exp.Select().from_(_table(first.name, alias), copy=False)
        limit = p.max_tables if max_tables is None else max_tables
        while len(scope.sources) < limit and self.rng.random() < p.p_join:
            table = self.rng.choice(self.schema.tables)
            kind = self._weighted(p.join_weights)
            if not p.outer_joins and kind in ("left", "right", "full"):
                kind = "inner"
            if kind != "cross" and self.rng.random() < p.p_key_join:
                # on a key: at most one row per key on one side, an index lookup
                keys = [pair for pair in self._pairs(scope, table) if _key_pair(pair[1], pair[2])]
                if keys:
                    alias = self._alias()
                    on = self._on(scope, self.rng.choice(keys), alias, table)
                    scope.sources.append((alias, table))
                    _join(select, _table(table.name, alias), kind, on)
                    continue
            # Not on a key, a join can multiply rows until every engine times out: it reads a
            # few rows of the table (see _bounded_source)
            source, alias, table = self._bounded_source(table)
            pairs = self._pairs(scope, table) if kind != "cross" else []
            if pairs:
                on = self._on(scope, self.rng.choice(pairs), alias, table)
                scope.sources.append((alias, table))
                _join(select, source, kind, on)
            else:  # a cross join, or no pair of columns of one type to join on
                scope.sources.append((alias, table))
                _join(select, source, "cross", None)
        return select

    def _pairs(self, scope: Scope, table: Table) -> list[tuple[str, Column, Column]]:
        """(alias, column in scope, column of table) of one orderable type: join candidates."""
        return [
            (left_alias, left, right)
            for left_alias, left in scope.columns()
            for right in table.columns
            if right.type == left.type and left.type in ORDERABLE
        ]

    def _on(
        self, scope: Scope, pair: tuple[str, Column, Column], alias: str, table: Table
    ) -> exp.Expression:
        left_alias, left, right = pair
        cond: exp.Expression = exp.EQ(this=_col(left_alias, left), expression=_col(alias, right))
        if self.rng.random() < 0.3:
            inner = Scope(sources=[*scope.sources, (alias, table)], outer=scope.outer)
            cond = exp.And(this=cond, expression=self._predicate(inner, 1))
        return cond

    def _bounded_source(self, table: Table) -> tuple[exp.Expression, str, Table]:
        """What a join not on a key (a cross join included) reads: the table, or
        (``cross_join_rows`` > 0) at most that many of its rows, as a derived table ordered by
        all its columns (so the rows LIMIT keeps are determined: ties are identical rows), its
        `id` and one or two other columns (no floats: -0.0 and 0.0 tie, and NaN sorts apart)."""
        n = self.profile.cross_join_rows
        columns = [c for c in table.columns if c.type in ORDERABLE and c.type != SqlType.FLOAT]
        if n <= 0 or not columns:
            alias = self._alias()
            return _table(table.name, alias), alias, table
        rng = self.rng
        inner_alias = self._alias()
        keys = [c for c in columns if _unique_key(c)]
        rest = [c for c in columns if c not in keys]
        picked = keys + rng.sample(rest, k=min(len(rest), rng.randint(0 if keys else 1, 2)))
        items = [exp.alias_(_col(inner_alias, c), _ident(c.name), copy=False) for c in picked]
        order = [
            exp.Ordered(this=exp.Literal.number(i + 1), desc=False, nulls_first=True)
            for i in range(len(picked))
        ]
        inner = (
            exp.Select()
            .select(*items, copy=False)
            .from_(_table(table.name, inner_alias), copy=False)
            .order_by(*order, copy=False)
            .limit(rng.randint(1, n), copy=False)
        )
        alias = self._alias()
        derived = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))
        return derived, alias, Table(table.name, tuple(picked))

    def _key_pair_index(self, pairs: list[tuple[Column, Column]]) -> int:
        """Which pair of columns (outer, inner) to correlate on: mostly (``p_key_join``) a
        key pair, one index lookup per outer row on the reference."""
        rng = self.rng
        if rng.random() < self.profile.p_key_join:
            keys = [n for n, (a, b) in enumerate(pairs) if _key_pair(a, b)]
            if keys:
                return rng.choice(keys)
        return rng.randrange(len(pairs))

    def _key_window(self, select: exp.Select, scope: Scope) -> exp.Expression | None:
        """``t.id BETWEEN lo AND lo + key_window - 1`` on the first source with an `id` (an
        index range on the reference): a guard on the size of the result that needs no LIMIT.
        With a RIGHT or FULL join (or on a joined table) the rows an outer join adds with that
        side NULL stay: ``OR t.id IS NULL``."""
        p = self.profile
        found = next(
            ((a, c) for a, table in scope.sources for c in table.columns if _unique_key(c)), None
        )
        if found is None:
            return None
        alias, key = found
        lo = self.rng.randrange(max(1, p.key_span))
        window: exp.Expression = exp.Between(
            this=_col(alias, key), low=_number(lo), high=_number(lo + max(1, p.key_window) - 1)
        )
        joins = select.args.get("joins") or []
        if alias != scope.sources[0][0] or any(j.side in ("RIGHT", "FULL") for j in joins):
            null = exp.Is(this=_col(alias, key), expression=exp.Null())
            window = exp.Paren(this=exp.Or(this=window, expression=null))
        return window

    def _select(
        self, scope: Scope, depth: int, *, top: bool = False, want: list[SqlType] | None = None
    ) -> Query:
        p, rng = self.profile, self.rng
        select = self._from(scope)
        group_by: list[tuple[str, Column]] = []
        aggregate = False
        if rng.random() < p.p_group_by:
            cols = scope.columns()
            group_by = rng.sample(cols, k=min(len(cols), rng.randint(1, p.max_group_by)))
        elif rng.random() < p.p_aggregate:
            aggregate = True
        items: list[exp.Expression] = []
        types: list[SqlType] = []
        count = len(want) if want else rng.randint(1, p.max_select_items)
        for i in range(count):
            t = want[i] if want else self._type(scope)
            if group_by or aggregate:
                if group_by and rng.random() < 0.5:
                    grouped = [g for g in group_by if g[1].type == t]
                    item = (
                        _col(*rng.choice(grouped)) if grouped else self._aggregate(scope, t, depth)
                    )
                else:
                    item = self._aggregate(scope, t, depth)
            elif p.windows and top and rng.random() < p.p_window:
                item = self._window(scope, t)
            else:
                item = self._expr(scope, t, depth + 1)
            items.append(exp.alias_(item, f"c{i}", copy=False))
            types.append(t)
        select = select.select(*items, copy=False)
        where = self._predicate(scope, depth + 1) if rng.random() < p.p_where else None
        if p.p_key_window > 0 and rng.random() < p.p_key_window:
            window = self._key_window(select, scope)
            if window is not None:
                where = window if where is None else exp.And(this=window, expression=where)
        if where is not None:
            select = select.where(where, copy=False)
        if group_by:
            select = select.group_by(*[_col(a, c) for a, c in group_by], copy=False)
            if rng.random() < p.p_having:
                select = select.having(self._aggregate_predicate(scope, depth), copy=False)
        if rng.random() < p.p_distinct:
            select = select.distinct(copy=False)
        order_keys = None
        if top and rng.random() < p.p_order_by:
            positions = list(range(len(items)))
            rng.shuffle(positions)
            total = rng.random() < 0.5
            keys = (
                positions
                if total
                else positions[: rng.randint(1, min(len(positions), p.max_order_by))]
            )
            select = select.order_by(
                *[
                    exp.Ordered(
                        this=exp.Literal.number(k + 1),
                        desc=rng.random() < 0.4,
                        nulls_first=rng.random() < 0.5,
                    )
                    for k in keys
                ],
                copy=False,
            )
            order_keys = keys
            # LIMIT only over a total order of the output: ties are then identical rows.
            if (
                total
                and types
                and all(t != SqlType.FLOAT for t in types)
                and rng.random() < p.p_limit
            ):
                select = select.limit(rng.randint(0, p.max_limit), copy=False)
        return Query(select, types, order_keys)

    def _set_operation(self) -> Query:
        left = self._select(Scope(), depth=1)
        right = self._select(Scope(), depth=1, want=left.types)
        op = self._weighted(self.profile.set_op_weights)
        node = {
            "union": lambda: exp.Union(this=left.tree, expression=right.tree, distinct=True),
            "union_all": lambda: exp.Union(this=left.tree, expression=right.tree, distinct=False),
            "intersect": lambda: exp.Intersect(
                this=left.tree, expression=right.tree, distinct=True
            ),
            "except": lambda: exp.Except(this=left.tree, expression=right.tree, distinct=True),
        }[op]()
        return Query(node, left.types)

    def _with_cte(self, q: Query) -> Query:
        """Name a derived table in WITH and read it in the main query."""
        inner = self._select(Scope(), depth=1)
        name = f"w{self._alias()}"
        cols = tuple(Column(f"c{i}", t) for i, t in enumerate(inner.types))
        table = Table(name, cols)
        outer_alias = self._alias()
        items = [exp.alias_(_col(outer_alias, c), c.name, copy=False) for c in cols]
        scope = Scope(sources=[(outer_alias, table)])
        select = (
            exp.Select()
            .select(*items, copy=False)
            .from_(
                exp.Table(
                    this=exp.to_identifier(name),
                    alias=exp.TableAlias(this=exp.to_identifier(outer_alias)),
                ),
                copy=False,
            )
        )
        if self.rng.random() < 0.5:
            select = select.where(self._predicate(scope, 1), copy=False)
        select = select.with_(name, as_=inner.tree, copy=False)
        return Query(select, list(inner.types))

    # --- expressions ----------------------------------------------------------------------------

    def _type(self, scope: Scope) -> SqlType:
        present = sorted({c.type for _, c in scope.columns()}, key=lambda t: t.value)
        return self.rng.choice(present)

    def _weighted(self, weights: dict[str, float]) -> str:
        kinds = [k for k, w in weights.items() if w > 0]
        return self.rng.choices(kinds, weights=[weights[k] for k in kinds])[0]

    def _leaf(self, scope: Scope, t: SqlType) -> exp.Expression:
        cols = scope.columns(t)
        if cols and self.rng.random() < self.profile.p_column:
            return _col(*self.rng.choice(cols))
        if self.rng.random() < self.profile.p_null_literal:
            return exp.Cast(this=exp.Null(), to=_data_type(_CAST_NAME[t]))
        return self._literal(t)

    def _literal(self, t: SqlType) -> exp.Expression:
        rng = self.rng
        if t == SqlType.INT:
            return _number(rng.choice([0, 1, -1, 2, 7, 100, -1000, 65536, rng.randint(-50, 50)]))
        if t == SqlType.FLOAT:
            return exp.Cast(
                this=exp.Literal.number(rng.choice(["0.5", "-1.25", "3.0", "1e3", "0.1"])),
                to=_data_type("double"),
            )
        if t == SqlType.DECIMAL:
            value = Decimal(rng.randint(-10000, 10000)).scaleb(-2)
            return exp.Cast(this=exp.Literal.number(str(value)), to=_data_type("decimal(18,4)"))
        if t == SqlType.TEXT:
            return exp.Literal.string(rng.choice(STRINGS))
        if t == SqlType.BOOL:
            return exp.Boolean(this=rng.random() < 0.5)
        if t == SqlType.DATE:
            day = date(2000, 1, 1) + timedelta(days=rng.randint(0, 12000))
            return exp.Cast(this=exp.Literal.string(day.isoformat()), to=_data_type("date"))
        moment = datetime(2000, 1, 1) + timedelta(seconds=rng.randint(0, 10**9))
        return exp.Cast(
            this=exp.Literal.string(moment.isoformat(sep=" ")), to=_data_type("timestamp")
        )

    def _expr(self, scope: Scope, t: SqlType, depth: int) -> exp.Expression:
        p, rng = self.profile, self.rng
        if depth >= p.max_depth:
            return self._leaf(scope, t)
        r = rng.random()
        if r < p.p_case:
            return exp.Case(
                ifs=[
                    exp.If(
                        this=self._predicate(scope, depth + 1), true=self._expr(scope, t, depth + 1)
                    )
                ],
                default=self._expr(scope, t, depth + 1),
            )
        if r < p.p_case + p.p_function:
            made = self._function(scope, t, depth + 1)
            if made is not None:
                return made
        if (p.subqueries and rng.random() < p.p_scalar_subquery
                and self._subquery_depth(scope) < p.max_subquery_depth):  # fmt: skip
            return self._scalar_subquery(scope, t)
        return self._leaf(scope, t)

    def _function(self, scope: Scope, t: SqlType, depth: int) -> exp.Expression | None:
        rng = self.rng

        def sub(st: SqlType = t) -> exp.Expression:
            return self._expr(scope, st, depth)

        if t == SqlType.INT:
            choice = rng.randrange(5)
            if choice == 0:
                return exp.Paren(this=exp.Add(this=sub(), expression=sub()))
            if choice == 1:
                return exp.Paren(this=exp.Sub(this=sub(), expression=sub()))
            if choice == 2:
                return exp.Abs(this=sub())
            if choice == 3:
                return exp.Length(this=sub(SqlType.TEXT))
            return exp.Coalesce(this=sub(), expressions=[sub()])
        if t in (SqlType.FLOAT, SqlType.DECIMAL):
            choice = rng.randrange(4)
            if choice == 0:
                return exp.Paren(this=exp.Add(this=sub(), expression=sub()))
            if choice == 1:
                return exp.Paren(this=exp.Mul(this=sub(), expression=sub()))
            if choice == 2 and t == SqlType.FLOAT:
                # Float division, guarded: no engine's integer division or zero rule applies.
                return exp.Paren(
                    this=exp.Div(
                        this=sub(),
                        expression=exp.Nullif(this=sub(), expression=exp.Literal.number(0)),
                    )
                )
            return exp.Abs(this=sub())
        if t == SqlType.TEXT:
            choice = rng.randrange(4)
            if choice == 0:
                return exp.DPipe(this=sub(), expression=sub(), safe=True)
            if choice == 1:
                return exp.Substring(
                    this=sub(), start=_number(rng.randint(1, 4)), length=_number(rng.randint(0, 5))
                )
            if choice == 2:
                return exp.func(
                    "REPLACE",
                    sub(),
                    exp.Literal.string(rng.choice("a -")),
                    exp.Literal.string(rng.choice(["", "b", "--"])),
                )
            return exp.Coalesce(this=sub(), expressions=[sub()])
        if t == SqlType.BOOL:
            # In parentheses: a predicate is an operand here, and `a = b = c` means different
            # things to different parsers (DuckDB refuses it).
            return exp.Paren(this=self._predicate(scope, depth))
        return None

    def _predicate(self, scope: Scope, depth: int) -> exp.Expression:
        p, rng = self.profile, self.rng
        if depth < p.max_depth and rng.random() < 0.3:
            op = rng.choice((exp.And, exp.Or))
            return exp.Paren(
                this=op(
                    this=self._predicate(scope, depth + 1),
                    expression=self._predicate(scope, depth + 1),
                )
            )
        if depth < p.max_depth and rng.random() < 0.1:
            return exp.Not(this=exp.Paren(this=self._predicate(scope, depth + 1)))
        if (p.subqueries and rng.random() < p.p_subquery
                and self._subquery_depth(scope) < p.max_subquery_depth):  # fmt: skip
            return self._subquery_predicate(scope)
        t = self._type(scope)
        r = rng.random()
        left = self._expr(scope, t, depth + 1)
        if r < 0.15:
            return (
                exp.Is(this=left, expression=exp.Null())
                if rng.random() < 0.5
                else exp.Not(this=exp.Is(this=left, expression=exp.Null()))
            )
        if t == SqlType.BOOL:
            return (
                left
                if rng.random() < 0.5
                else exp.EQ(this=left, expression=self._expr(scope, t, depth + 1))
            )
        if r < 0.3 and t in ORDERABLE:
            low, high = self._literal(t), self._literal(t)
            return exp.Between(this=left, low=low, high=high)
        if r < 0.45:
            items = [self._literal(t) for _ in range(rng.randint(1, p.max_in_list))]
            node = exp.In(this=left, expressions=items)
            return exp.Not(this=node) if rng.random() < 0.3 else node
        if r < 0.55 and t == SqlType.TEXT:
            pattern = rng.choice(["a%", "%a%", "_", "%", "ab_", "%é%"])
            return exp.Like(this=left, expression=exp.Literal.string(pattern))
        op = rng.choice(COMPARISONS) if t in ORDERABLE else rng.choice((exp.EQ, exp.NEQ))
        return op(this=left, expression=self._expr(scope, t, depth + 1))

    def _aggregate(self, scope: Scope, t: SqlType, depth: int) -> exp.Expression:
        rng = self.rng
        arg = self._expr(scope, t, self.profile.max_depth - 1)
        if t == SqlType.INT:
            choice = rng.randrange(4)
            if choice == 0:
                return exp.Count(this=exp.Star())
            if choice == 1:
                inner = (
                    exp.Distinct(expressions=[self._expr(scope, self._type(scope), depth + 1)])
                    if rng.random() < 0.3
                    else self._expr(scope, self._type(scope), depth + 1)
                )
                return exp.Count(this=inner)
            return (exp.Min if choice == 2 else exp.Max)(this=arg)
        if t == SqlType.FLOAT:
            numeric = rng.choice([SqlType.INT, SqlType.FLOAT])
            if scope.columns(numeric) and rng.random() < 0.5:
                return exp.Avg(this=self._expr(scope, numeric, self.profile.max_depth - 1))
            return rng.choice((exp.Min, exp.Max, exp.Sum))(this=arg)
        if t == SqlType.DECIMAL:
            return rng.choice((exp.Min, exp.Max, exp.Sum))(this=arg)
        if t == SqlType.BOOL:
            return self._aggregate_predicate(scope, depth)
        return rng.choice((exp.Min, exp.Max))(this=arg)

    def _aggregate_predicate(self, scope: Scope, depth: int) -> exp.Expression:
        t = self.rng.choice(
            [SqlType.INT, *[c.type for _, c in scope.columns() if c.type in ORDERABLE]]
        )
        left = self._aggregate(scope, t, depth)
        op = self.rng.choice(COMPARISONS)
        right = self._literal(t) if self.rng.random() < 0.7 else self._aggregate(scope, t, depth)
        return op(this=left, expression=right)

    def _window(self, scope: Scope, t: SqlType) -> exp.Expression:
        """Only windows whose answer the data determines: aggregates over a whole partition,
        RANK, and running MIN/MAX/COUNT over a RANGE frame (peers included)."""
        rng = self.rng
        cols = scope.columns()
        partition = [_col(*c) for c in rng.sample(cols, k=min(len(cols), rng.randint(0, 2)))]
        orderable = [c for c in cols if c[1].type in ORDERABLE]
        order = None
        if orderable and rng.random() < 0.5:
            order = exp.Order(
                expressions=[
                    exp.Ordered(
                        this=_col(*rng.choice(orderable)),
                        desc=rng.random() < 0.5,
                        nulls_first=rng.random() < 0.5,
                    )
                ]
            )
        if t == SqlType.INT and order is not None and rng.random() < 0.4:
            func: exp.Expression = exp.Anonymous(this="RANK", expressions=[])
        elif t == SqlType.INT:
            func = exp.Count(this=exp.Star())
        elif t == SqlType.FLOAT and order is None:
            func = exp.Sum(this=self._leaf(scope, t))
        else:
            func = rng.choice((exp.Min, exp.Max))(this=self._leaf(scope, t))
        return exp.Window(this=func, partition_by=partition or None, order=order)

    # --- subqueries -----------------------------------------------------------------------------

    def _subquery_depth(self, scope: Scope) -> int:
        depth, s = 0, scope.outer
        while s is not None:
            depth, s = depth + 1, s.outer
        return depth

    def _subquery_predicate(self, scope: Scope) -> exp.Expression:
        rng = self.rng
        inner_scope = Scope(outer=scope)
        if rng.random() < 0.5:
            # EXISTS, correlated on a column pair of one type
            inner = self._from(inner_scope, self.profile.max_subquery_tables)
            pairs = [
                (o, i)
                for o in scope.columns()
                for i in inner_scope.columns()
                if o[1].type == i[1].type
            ]
            cond = self._predicate(inner_scope, self.profile.max_depth - 1)
            if pairs:
                # mostly on a key: one index lookup per outer row on the reference
                o, i = pairs[self._key_pair_index([(o[1], i[1]) for o, i in pairs])]
                cond = exp.And(this=exp.EQ(this=_col(*o), expression=_col(*i)), expression=cond)
            node = exp.Exists(
                this=inner.select(exp.Literal.number(1), copy=False).where(cond, copy=False)
            )
            return exp.Not(this=node) if rng.random() < 0.3 else node
        t = self._type(scope)
        inner_cols = None
        for _ in range(3):
            inner_scope = Scope(outer=scope)
            inner = self._from(inner_scope, self.profile.max_subquery_tables)
            inner_cols = inner_scope.columns(t)
            if inner_cols:
                break
        if not inner_cols:
            return exp.Is(this=self._leaf(scope, t), expression=exp.Null())
        sub = inner.select(_col(*rng.choice(inner_cols)), copy=False)
        if rng.random() < 0.5:
            sub = sub.where(self._predicate(inner_scope, self.profile.max_depth - 1), copy=False)
        node = exp.In(this=self._leaf(scope, t), query=exp.Subquery(this=sub))
        return exp.Not(this=node) if rng.random() < 0.3 else node

    def _scalar_subquery(self, scope: Scope, t: SqlType) -> exp.Expression:
        inner_scope = Scope(outer=scope)
        inner = self._from(inner_scope, self.profile.max_subquery_tables)
        agg = self._aggregate(inner_scope, t, self.profile.max_depth - 1)
        return exp.Subquery(this=inner.select(agg, copy=False))


_CAST_NAME = {
    SqlType.INT: "bigint",
    SqlType.FLOAT: "double",
    SqlType.DECIMAL: "decimal(18,4)",
    SqlType.TEXT: "text",
    SqlType.BOOL: "boolean",
    SqlType.DATE: "date",
    SqlType.TIMESTAMP: "timestamp",
}


def _col(alias: str, column: Column) -> exp.Column:
    return exp.Column(
        this=exp.to_identifier(column.name, quoted=True), table=exp.to_identifier(alias)
    )


_DATA_TYPES: dict[str, exp.DataType] = {}


def _data_type(name: str) -> exp.DataType:
    """exp.DataType.build(name), parsed once (parsing costs more than building the rest)."""
    built = _DATA_TYPES.get(name)
    if built is None:
        built = _DATA_TYPES[name] = exp.DataType.build(name)
    return built.copy()


# What Select.join(join_type=...) sets, without parsing the join type every time.
_JOIN_ARGS = {
    "inner": {"kind": "INNER"},
    "left": {"side": "LEFT"},
    "right": {"side": "RIGHT"},
    "full": {"side": "FULL"},
    "cross": {"kind": "CROSS"},
}


def _join(select: exp.Select, source: exp.Expression, kind: str, on: exp.Expression | None) -> None:
    join = exp.Join(this=source, **_JOIN_ARGS[kind])
    if on is not None:
        join.set("on", on)
    select.append("joins", join)


def _table(name: str, alias: str) -> exp.Table:
    return exp.Table(
        this=exp.to_identifier(name), alias=exp.TableAlias(this=exp.to_identifier(alias))
    )


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _unique_key(column: Column) -> bool:
    """A column named `id`: taken for the table's key (datagen's tables have it as one)."""
    return column.name.lower() == "id"


def _key_pair(a: Column, b: Column) -> bool:
    """`id` against a key-like column (id, *_id): at most one row per value on one side."""
    return _key_like(a) and _key_like(b) and (_unique_key(a) or _unique_key(b))


def _key_like(column: Column) -> bool:
    name = column.name.lower()
    return (
        name == "id" or name.endswith("_id") or name.endswith("id") and column.type == SqlType.INT
    )


def _number(n: int) -> exp.Expression:
    lit = exp.Literal.number(abs(n))
    return exp.Neg(this=lit) if n < 0 else lit
