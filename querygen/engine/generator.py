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

The generator writes the constructs optimizers get wrong (issue 11): IS [NOT] DISTINCT FROM,
INTERSECT/EXCEPT ALL, OFFSET, window frames and LEAD/LAG/FIRST_VALUE/LAST_VALUE/ROW_NUMBER/
DENSE_RANK/NTILE, HAVING without GROUP BY, correlated IN and EXISTS (through equalities,
inequalities or several conditions), joins on other conditions than an equality (inequalities,
BETWEEN, OR, IS NOT DISTINCT FROM, one side only, a subquery), [NOT] BETWEEN, [NOT] LIKE with
`_` and `%`, COALESCE/NULLIF/CASE over NULLs, casts every dialect means the same by, and
DISTINCT ON; each with its own probability in the profile. Where a construct depends on the
order of rows (a ROWS frame, ROW_NUMBER, LEAD, DISTINCT ON, OFFSET), that order is total (see
_total_order). ``dialects`` names the dialects the run renders for: what one of them lacks
(UNSUPPORTED) is not generated.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlglot import exp

from .model import Column, Schema, SqlType, Table
from .profile import Profile

COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)
ORDERABLE = (SqlType.INT, SqlType.FLOAT, SqlType.DECIMAL, SqlType.TEXT, SqlType.DATE,
             SqlType.TIMESTAMP)  # fmt: skip
INEQUALITIES = (exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)
# Types a total order may sort on: the same order everywhere. Not FLOAT: -0.0 ties 0.0 (rows
# the order cannot tell apart that are not identical), and DuckDB sorts NaN after every number
# where SQLite, which stores it as NULL, sorts it with the NULLs.
KEYABLE = tuple(t for t in ORDERABLE if t != SqlType.FLOAT)
STRINGS = ("", "a", "A", "abc", "ab%", "x_y", " a ", "é", "日本", "0", "-1", "NULL", "zz")
# LIKE patterns whose meaning does not depend on the case of letters, and patterns with letters
# (see UNSUPPORTED: SQLite's LIKE folds ASCII case). `_` stands for one character, `%` any.
LIKE_PATTERNS = ("_", "%", "__", "_%", "%_", "% %", "_ _%", "%é%", "_é%", "%0%", "%-_", "日%",
                 "_本")  # fmt: skip
LIKE_LETTER_PATTERNS = ("a%", "%a%", "ab_", "_a%", "A_%")

# What an engine of a dialect lacks, by construct name (census.CONSTRUCTS, "like_letters" and
# "full_non_equi_join"):
# QueryGenerator(dialects=...) leaves it out when the run renders for that dialect.
UNSUPPORTED: dict[str, frozenset[str]] = {
    # SQLite has INTERSECT and EXCEPT but not INTERSECT ALL nor EXCEPT ALL (sqlglot renders
    # them as they are: a syntax error), nor DISTINCT ON (sqlglot rewrites it into a ROW_NUMBER
    # subquery, and does so in the tree it renders: the tree would not stay the one generated).
    # Its LIKE ignores the case of ASCII letters (PRAGMA case_sensitive_like is off by
    # default) where DuckDB's and PostgreSQL's do not: a pattern with letters would mean
    # something else on each side.
    "sqlite": frozenset({"intersect_all", "except_all", "distinct_on", "like_letters"}),
    # PostgreSQL runs a FULL JOIN only on a condition with an equality of columns (merge or
    # hash joinable): not on an inequality, an IS NOT DISTINCT FROM, or one side alone.
    "postgres": frozenset({"full_non_equi_join"}),
}

# set_op_weights' kinds: the node and whether it removes duplicates (ALL: it does not).
_SET_OPS: dict[str, tuple[type[exp.SetOperation], bool]] = {
    "union": (exp.Union, True),
    "union_all": (exp.Union, False),
    "intersect": (exp.Intersect, True),
    "intersect_all": (exp.Intersect, False),
    "except": (exp.Except, True),
    "except_all": (exp.Except, False),
}


def query_rng(seed: int, index: int) -> random.Random:
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))  # noqa: S311 (not a secret)


@dataclass
class Scope:
    """The tables a query's expressions may read: (alias, table) in FROM order."""

    sources: list[tuple[str, Table]] = field(default_factory=list)
    outer: Scope | None = None
    # columns() by (number of sources, type): asked for dozens of times a query, and sources
    # are only ever appended to.
    _columns: dict[tuple[int, SqlType | None], tuple[tuple[str, Column], ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _types: dict[int, tuple[SqlType, ...]] = field(default_factory=dict, repr=False, compare=False)

    def columns(self, t: SqlType | None = None) -> tuple[tuple[str, Column], ...]:
        key = (len(self.sources), t)
        found = self._columns.get(key)
        if found is None:
            found = self._columns[key] = tuple(
                (alias, c)
                for alias, table in self.sources
                for c in table.columns
                if t is None or c.type == t
            )
        return found

    def types(self) -> tuple[SqlType, ...]:
        """The types of its columns, sorted (the generator draws from them)."""
        found = self._types.get(len(self.sources))
        if found is None:
            kinds = sorted({c.type for _, c in self.columns()}, key=lambda t: t.value)
            found = self._types[len(self.sources)] = tuple(kinds)
        return found


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
    def __init__(
        self,
        schema: Schema,
        profile: Profile | None = None,
        seed: int = 0,
        dialects: Sequence[str] = (),
    ) -> None:
        """``dialects``: those of the engines the run compares (the queries are rendered for
        each); what one of them lacks (UNSUPPORTED) is never generated. Empty: every
        construct. The same (seed, index) gives the same query only with the same dialects."""
        if not schema.tables:
            raise ValueError("the schema has no table both engines agree on")
        self.schema = schema
        self.profile = profile or Profile()
        self.seed = seed
        self.dialects = tuple(dialects)
        self.lacking: frozenset[str] = frozenset().union(
            *(UNSUPPORTED.get(d, frozenset()) for d in self.dialects)
        )
        # One dialect (two releases of one engine, or one engine's metamorphic oracle): the
        # operators engines disagree on (integer division, modulo, a division by zero) mean
        # the same on every side, and are where releases differ: they are written too.
        self.one_dialect = len(set(self.dialects)) == 1
        self._aliases = 0
        # The select list has a window that depends on where a row is among identical ones
        # (see _window): a second one, or a DISTINCT ON, could pair them differently.
        self._positional = False

    # --- queries --------------------------------------------------------------------------------

    def query(self, index: int) -> Query:
        self.rng = query_rng(self.seed, index)
        self._aliases = 0
        p = self.profile
        q = self._set_operation() if p.set_ops and self.rng.random() < p.p_set_op else None
        if q is None:
            q = self._select(Scope(), depth=0, top=True)
        if self.rng.random() < p.p_with:
            q = self._with_cte(q)
        q.seed, q.index = self.seed, index
        return q

    def _alias(self) -> str:
        self._aliases += 1
        return f"t{self._aliases}"

    def _from(
        self, scope: Scope, max_tables: int | None = None, *, bounded: bool = False
    ) -> exp.Select:
        """The FROM of a SELECT and its joins, their sources added to ``scope``. ``bounded``:
        the first table is read as _bounded_source reads it too (a subquery correlated by an
        inequality, run once per outer row with no index to look up: a few rows each time)."""
        p, rng = self.profile, self.rng
        first = rng.choice(self.schema.tables)
        if bounded:
            source, alias, first = self._bounded_source(first)
        else:
            alias = self._alias()
            source = _table(first.name, alias)
        scope.sources.append((alias, first))
        select = exp.Select().from_(source, copy=False)
        limit = p.max_tables if max_tables is None else max_tables
        while len(scope.sources) < limit and rng.random() < p.p_join:
            table = rng.choice(self.schema.tables)
            kind = self._weighted(p.join_weights)
            if not p.outer_joins and kind in ("left", "right", "full"):
                kind = "inner"
            non_equi = kind != "cross" and rng.random() < p.p_non_equi_join
            # PostgreSQL: a FULL JOIN needs an equality of columns (hash or merge joinable)
            equality = kind == "full" and "full_non_equi_join" in self.lacking
            non_equi = non_equi and not equality
            if kind != "cross" and not non_equi and rng.random() < p.p_key_join:
                # on a key: at most one row per key on one side, an index lookup
                keys = [pair for pair in self._pairs(scope, table) if _key_pair(pair[1], pair[2])]
                if keys:
                    alias = self._alias()
                    on = self._on(scope, rng.choice(keys), alias, table, equality)
                    scope.sources.append((alias, table))
                    _join(select, _table(table.name, alias), kind, self._join_subquery(scope, on))
                    continue
            # Not on a key (an inequality, an OR, ... included), a join can multiply rows until
            # every engine times out: it reads a few rows of the table (see _bounded_source)
            source, alias, table = self._bounded_source(table)
            on: exp.Expression | None = None
            if non_equi:
                on = self._non_equi_on(scope, alias, table)
            elif kind != "cross":
                pairs = self._pairs(scope, table)
                if pairs:
                    on = self._on(scope, rng.choice(pairs), alias, table, equality)
            scope.sources.append((alias, table))
            if on is None:  # a cross join, or no pair of columns of one type to join on
                _join(select, source, "cross", None)
            else:
                _join(select, source, kind, self._join_subquery(scope, on))
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
        self,
        scope: Scope,
        pair: tuple[str, Column, Column],
        alias: str,
        table: Table,
        equality: bool = False,
    ) -> exp.Expression:
        """The pair's columns equal (or, but with ``equality``, not distinct), and at times
        (three in ten) a predicate over both sides."""
        left_alias, left, right = pair
        null_safe = self.rng.random() < self.profile.p_distinct_from and not equality
        op = exp.NullSafeEQ if null_safe else exp.EQ
        cond: exp.Expression = op(this=_col(left_alias, left), expression=_col(alias, right))
        if self.rng.random() < 0.3:
            inner = Scope(sources=[*scope.sources, (alias, table)], outer=scope.outer)
            cond = exp.And(this=cond, expression=self._predicate(inner, 1))
        return cond

    def _non_equi_on(self, scope: Scope, alias: str, table: Table) -> exp.Expression:
        """A join condition that is no equality: an inequality, a BETWEEN, an OR, an IS NOT
        DISTINCT FROM, or a predicate on one side only. (On a bounded source: _from.)"""
        p, rng = self.profile, self.rng
        pairs = self._pairs(scope, table)
        # BETWEEN and IS NOT DISTINCT FROM only if their own probabilities allow them at all
        kinds = [0, 2, *([1] if p.p_between > 0 else []), *([3] if p.p_distinct_from > 0 else [])]
        choice = rng.choice([*kinds, 4]) if pairs else 4
        if choice == 4:  # one side only: the joined table's columns, or the others'
            side = (
                Scope(sources=[(alias, table)], outer=scope.outer)
                if rng.random() < 0.5
                else Scope(sources=list(scope.sources), outer=scope.outer)
            )
            return self._predicate(side, 1)
        left_alias, left, right = rng.choice(pairs)
        a, b = _col(left_alias, left), _col(alias, right)
        if choice == 0:
            return rng.choice(INEQUALITIES)(this=a, expression=b)
        if choice == 1:  # one column between another and a third column (or a literal)
            if rng.random() < 0.5:
                a, b = b, a
            others = [c for c in scope.columns(left.type) if c[1] is not left]
            high = (
                _col(*rng.choice(others))
                if others and rng.random() < 0.5
                else self._literal(left.type)
            )
            return exp.Between(this=b, low=a, high=high)
        if choice == 2:  # an equality or inequality OR a predicate over both sides
            op = rng.choice((exp.EQ, *INEQUALITIES))
            both = Scope(sources=[*scope.sources, (alias, table)], outer=scope.outer)
            return exp.Paren(
                this=exp.Or(this=op(this=a, expression=b), expression=self._predicate(both, 1))
            )
        return exp.NullSafeEQ(this=a, expression=b)

    def _join_subquery(self, scope: Scope, on: exp.Expression) -> exp.Expression:
        """``on``, and (``p_join_subquery``) an IN (SELECT ...) or EXISTS (...) over the
        join's sources (``scope``, the joined table included)."""
        p = self.profile
        if (p.subqueries and self.rng.random() < p.p_join_subquery
                and self._subquery_depth(scope) < p.max_subquery_depth):  # fmt: skip
            # one table in the subquery: run once per pair of rows the join considers
            return exp.And(this=on, expression=self._subquery_predicate(scope, max_tables=1))
        return on

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
        )
        inner.set("limit", exp.Limit(expression=_number(rng.randint(1, n))))  # no parsing
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
        if top:
            self._positional = False
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
            select = filtered(select, where)
        if group_by:
            select = select.group_by(*[_col(a, c) for a, c in group_by], copy=False)
            if rng.random() < p.p_having:
                select = filtered(select, self._aggregate_predicate(scope, depth), "having")
        elif aggregate and rng.random() < p.p_having_without_group_by:
            # one group, the whole input: kept or not as a whole
            select = filtered(select, self._aggregate_predicate(scope, depth), "having")
        plain = top and not group_by and not aggregate
        if (plain and "distinct_on" not in self.lacking and rng.random() < p.p_distinct_on
                and not self._positional and self._distinct_on(select, scope)):  # fmt: skip
            return Query(select, types)  # its ORDER BY is on columns, not the output's
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
            # LIMIT and OFFSET only over a total order of the output: ties are then identical
            # rows, so the rows kept are determined (as a multiset).
            if total and types and all(t != SqlType.FLOAT for t in types):
                if rng.random() < p.p_limit:
                    select.set("limit", exp.Limit(expression=_number(rng.randint(0, p.max_limit))))
                if rng.random() < p.p_offset:
                    offset = _number(rng.randint(1, p.max_limit))
                    select.set("offset", exp.Offset(expression=offset))
        return Query(select, types, order_keys)

    def _distinct_on(self, select: exp.Select, scope: Scope) -> bool:
        """Make ``select`` DISTINCT ON one or two columns, ordered by them and then by a total
        order of its rows (_total_order): the row kept of each group is the first of that
        order, determined. False (nothing changed) when the scope has no total order."""
        total = self._total_order(scope)
        keyable = [c for c in scope.columns() if c[1].type in KEYABLE]
        if total is None or not keyable:
            return False
        on = self.rng.sample(keyable, k=min(len(keyable), self.rng.randint(1, 2)))
        select.set("distinct", exp.Distinct(on=exp.Tuple(expressions=[_col(*c) for c in on])))
        # The DISTINCT ON columns lead the ORDER BY (PostgreSQL requires it)
        select.set("order", exp.Order(expressions=[self._ordered(c) for c in [*on, *total]]))
        return True

    def _total_order(self, scope: Scope) -> list[tuple[str, Column]] | None:
        """Columns an ORDER BY can sort the scope's rows by totally: each source's `id` (a key:
        the rows of a join, NULL-extended ones included, differ in the ids of their sources),
        or all its columns for a source without one (rows the order ties are then identical in
        every column, so whichever comes first, what is computed from them is the same).
        None when a source without `id` has a column of a type outside KEYABLE."""
        keys: list[tuple[str, Column]] = []
        for alias, table in scope.sources:
            key = next((c for c in table.columns if _unique_key(c)), None)
            if key is not None:
                keys.append((alias, key))
            elif all(c.type in KEYABLE for c in table.columns):
                keys.extend((alias, c) for c in table.columns)
            else:
                return None
        return keys

    def _ordered(self, column: tuple[str, Column]) -> exp.Ordered:
        rng = self.rng
        return exp.Ordered(
            this=_col(*column), desc=rng.random() < 0.5, nulls_first=rng.random() < 0.5
        )

    def _set_operation(self) -> Query | None:
        """Two SELECTs of the same types joined by a set operation of ``set_op_weights`` (None
        when no kind has a weight, or only kinds a dialect lacks)."""
        weights = {
            k: w for k, w in self.profile.set_op_weights.items() if k not in self.lacking and w > 0
        }
        if not weights:
            return None
        left = self._select(Scope(), depth=1)
        right = self._select(Scope(), depth=1, want=left.types)
        node, distinct = _SET_OPS[self._weighted(weights)]
        return Query(node(this=left.tree, expression=right.tree, distinct=distinct), left.types)

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
            select = filtered(select, self._predicate(scope, 1))
        cte = exp.CTE(this=inner.tree, alias=exp.TableAlias(this=exp.to_identifier(name)))
        select.set("with_", exp.With(expressions=[cte]))  # as .with_() builds it, unparsed
        return Query(select, list(inner.types))

    # --- expressions ----------------------------------------------------------------------------

    def _type(self, scope: Scope) -> SqlType:
        return self.rng.choice(scope.types())

    def _weighted(self, weights: dict[str, float]) -> str:
        kinds = [k for k, w in weights.items() if w > 0]
        return self.rng.choices(kinds, weights=[weights[k] for k in kinds])[0]

    def _leaf(self, scope: Scope, t: SqlType) -> exp.Expression:
        cols = scope.columns(t)
        if cols and self.rng.random() < self.profile.p_column:
            return _col(*self.rng.choice(cols))
        if self.rng.random() < self.profile.p_null_literal:
            return _null(t)
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
            return self._case(scope, t, depth + 1)
        r -= p.p_case
        if r < p.p_coalesce:
            args = [self._expr(scope, t, depth + 1) for _ in range(rng.randint(2, 3))]
            if rng.random() < 0.3:
                args[0] = _null(t)  # COALESCE over NULLs
            return exp.Coalesce(this=args[0], expressions=args[1:])
        r -= p.p_coalesce
        if r < p.p_nullif:
            return exp.Nullif(
                this=self._expr(scope, t, depth + 1), expression=self._expr(scope, t, depth + 1)
            )
        r -= p.p_nullif
        if r < p.p_cast and t in _CASTS:
            source = rng.choice(_CASTS[t])
            return exp.Cast(this=self._expr(scope, source, depth + 1), to=_data_type(_CAST_TO[t]))
        r -= p.p_cast
        if r < p.p_function:
            made = self._function(scope, t, depth + 1)
            if made is not None:
                return made
        if (p.subqueries and rng.random() < p.p_scalar_subquery
                and self._subquery_depth(scope) < p.max_subquery_depth):  # fmt: skip
            return self._scalar_subquery(scope, t)
        return self._leaf(scope, t)

    def _case(self, scope: Scope, t: SqlType, depth: int) -> exp.Expression:
        """CASE WHEN p THEN ... (WHEN x IS NULL among them), or CASE x WHEN v THEN ...; one or
        two WHENs, and no ELSE (NULL when no WHEN holds) in three of ten."""
        rng = self.rng
        operand = self._type(scope) if rng.random() < 0.25 else None
        case = exp.Case()
        if operand is not None:
            case.set("this", self._expr(scope, operand, depth))
        ifs: list[exp.Expression] = []
        for _ in range(rng.randint(1, 2)):
            if operand is not None:
                when = self._literal(operand)
            elif rng.random() < 0.3:
                tested = self._expr(scope, self._type(scope), depth)
                when = exp.Is(this=tested, expression=exp.Null())
            else:
                when = self._predicate(scope, depth)
            ifs.append(exp.If(this=when, true=self._expr(scope, t, depth)))
        case.set("ifs", ifs)
        if rng.random() < 0.7:
            case.set("default", self._expr(scope, t, depth))
        return case

    def _function(self, scope: Scope, t: SqlType, depth: int) -> exp.Expression | None:
        rng = self.rng

        def sub(st: SqlType = t) -> exp.Expression:
            return self._expr(scope, st, depth)

        if t == SqlType.INT:  # (COALESCE, of every type: p_coalesce)
            choice = rng.randrange(7 if self.one_dialect else 4)
            if choice >= 4:
                op = (exp.Mod, exp.IntDiv, exp.Mul)[choice - 4]
                return exp.Paren(this=op(this=sub(), expression=sub()))
            if choice == 0:
                return exp.Paren(this=exp.Add(this=sub(), expression=sub()))
            if choice == 1:
                return exp.Paren(this=exp.Sub(this=sub(), expression=sub()))
            if choice == 2:
                return exp.Abs(this=sub())
            return exp.Length(this=sub(SqlType.TEXT))
        if t in (SqlType.FLOAT, SqlType.DECIMAL):
            choice = rng.randrange(4)
            if choice == 0:
                return exp.Paren(this=exp.Add(this=sub(), expression=sub()))
            if choice == 1:
                return exp.Paren(this=exp.Mul(this=sub(), expression=sub()))
            if choice == 2 and t == SqlType.FLOAT and self.one_dialect:
                return exp.Paren(this=exp.Div(this=sub(), expression=sub()))
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
            choice = rng.randrange(3)
            if choice == 0:
                return exp.DPipe(this=sub(), expression=sub(), safe=True)
            if choice == 1:
                return exp.Substring(
                    this=sub(), start=_number(rng.randint(1, 4)), length=_number(rng.randint(0, 5))
                )
            return exp.func(
                "REPLACE",
                sub(),
                exp.Literal.string(rng.choice("a -")),
                exp.Literal.string(rng.choice(["", "b", "--"])),
            )
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
        if rng.random() < p.p_distinct_from:
            op = rng.choice((exp.NullSafeEQ, exp.NullSafeNEQ))
            return op(this=left, expression=self._expr(scope, t, depth + 1))
        if t == SqlType.BOOL:
            return (
                left
                if rng.random() < 0.5
                else exp.EQ(this=left, expression=self._expr(scope, t, depth + 1))
            )
        r -= 0.15
        if r < p.p_between and t in ORDERABLE:
            if rng.random() < 0.5:
                low, high = self._literal(t), self._literal(t)
            else:  # bounds that are expressions, columns mostly
                low, high = self._expr(scope, t, depth + 1), self._expr(scope, t, depth + 1)
            node = exp.Between(this=left, low=low, high=high)
            return exp.Not(this=node) if rng.random() < 0.3 else node
        r -= p.p_between
        if r < 0.15:
            items = [self._literal(t) for _ in range(rng.randint(1, p.max_in_list))]
            node = exp.In(this=left, expressions=items)
            return exp.Not(this=node) if rng.random() < 0.3 else node
        r -= 0.15
        if r < p.p_like and t == SqlType.TEXT:
            patterns = (
                LIKE_PATTERNS
                if "like_letters" in self.lacking
                else LIKE_PATTERNS + LIKE_LETTER_PATTERNS
            )
            node = exp.Like(this=left, expression=exp.Literal.string(rng.choice(patterns)))
            return exp.Not(this=node) if rng.random() < 0.3 else node
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
            agg = rng.choice((exp.Min, exp.Max, exp.Sum))(this=arg)
            if isinstance(agg, exp.Sum):  # DECIMAL(38,s) of its argument's scale: widened
                return exp.Cast(this=agg, to=_data_type(_WIDE_DECIMAL))
            return agg
        if t == SqlType.BOOL:
            return self._aggregate_predicate(scope, depth)
        return rng.choice((exp.Min, exp.Max))(this=arg)

    def _aggregate_predicate(self, scope: Scope, depth: int) -> exp.Expression:
        t = self.rng.choice(
            [SqlType.INT, *[c.type for _, c in scope.columns() if c.type in ORDERABLE]]
        )
        left = self._compared_aggregate(scope, t, depth)
        op = self.rng.choice(COMPARISONS)
        right = (
            self._literal(t)
            if self.rng.random() < 0.7
            else self._compared_aggregate(scope, t, depth)
        )
        return op(this=left, expression=right)

    def _compared_aggregate(self, scope: Scope, t: SqlType, depth: int) -> exp.Expression:
        """An aggregate to compare: of FLOAT or DECIMAL only MIN or MAX. A SUM's or an AVG's
        last digits depend on the order of the additions (and SQLite adds decimals as floats),
        so a sum compared with a value it nearly equals goes either way."""
        if t in (SqlType.FLOAT, SqlType.DECIMAL):
            arg = self._expr(scope, t, self.profile.max_depth - 1)
            return self.rng.choice((exp.Min, exp.Max))(this=arg)
        return self._aggregate(scope, t, depth)

    def _window(self, scope: Scope, t: SqlType) -> exp.Expression:
        """Only windows whose answer the data determines.

        - Over any ORDER BY (or none): aggregates over the whole partition or over a RANGE
          frame (the rows the ORDER BY ties, peers, are in a RANGE frame together), RANK and
          DENSE_RANK.
        - What depends on where a row is among the rows the ORDER BY ties (a ROWS frame,
          ROW_NUMBER, NTILE, LEAD, LAG, FIRST_VALUE, LAST_VALUE) only over a total order of
          the scope's rows (_total_order): rows it ties are identical in every column, so
          whichever an engine puts first, the answer is the same multiset of rows. ROW_NUMBER
          numbers two identical rows 1 and 2 either way, and LEAD gives the first of them the
          second's value (its own) and the second the next row's, either way. One such
          window a select list at most: two (ROW_NUMBER and LEAD over identical rows r1, r2)
          may pair their values either way, (1, a), (2, b) or (1, b), (2, a).
        - No SUM or AVG of FLOAT in a frame: a float sum depends on the order of the additions,
          and each engine adds a frame in its own order. SUM of DECIMAL, as the aggregates
          have it (no SUM of INT: SQLite overflows where DuckDB widens).
        """
        p, rng = self.profile, self.rng
        cols = scope.columns()
        partition = [_col(*c) for c in rng.sample(cols, k=min(len(cols), rng.randint(0, 2)))]
        total = self._total_order(scope)
        spec = None
        if total is not None and rng.random() < p.p_window_function and not self._positional:
            self._positional = True
            func, frameable = self._window_function(scope, t)
            order = self._total_order_by(scope, total)
            if frameable and rng.random() < p.p_window_frame:
                spec = self._frame(total=True)
            return exp.Window(this=func, partition_by=partition or None, order=order, spec=spec)
        if t == SqlType.BOOL:
            # PostgreSQL has no MIN or MAX of booleans: a counting window, compared
            counted = self._window(scope, SqlType.INT)
            return exp.Paren(this=exp.GT(this=counted, expression=_number(rng.randint(0, 2))))
        orderable = [c for c in cols if c[1].type in ORDERABLE]
        order = None
        framed = rng.random() < p.p_window_frame
        if framed and total is not None and rng.random() < 0.5 and not self._positional:
            self._positional = True
            order = self._total_order_by(scope, total)
            spec = self._frame(total=True)
        else:
            if orderable and rng.random() < 0.5:
                order = exp.Order(expressions=[self._ordered(rng.choice(orderable))])
            spec = self._frame(total=False) if framed else None
        if spec is not None:
            func = self._frame_aggregate(scope, t)
        elif t == SqlType.INT and order is not None and rng.random() < 0.4:
            func = (
                exp.Anonymous(this="RANK", expressions=[])
                if rng.random() < 0.5
                else exp.DenseRank()
            )
        elif t == SqlType.INT:
            func = exp.Count(this=exp.Star())
        elif t == SqlType.FLOAT and order is None:
            func = exp.Sum(this=self._leaf(scope, t))
        else:
            func = rng.choice((exp.Min, exp.Max))(this=self._leaf(scope, t))
        return exp.Window(this=func, partition_by=partition or None, order=order, spec=spec)

    def _window_function(self, scope: Scope, t: SqlType) -> tuple[exp.Expression, bool]:
        """A ranking or navigation function of type ``t`` (over a total order), and whether a
        frame means something to it (FIRST_VALUE and LAST_VALUE)."""
        rng = self.rng
        if t == SqlType.INT and rng.random() < 0.5:
            kind = rng.randrange(3)
            if kind == 0:
                return exp.RowNumber(), False
            if kind == 1:
                return exp.DenseRank(), False
            return exp.Ntile(this=_number(rng.randint(1, 4))), False
        kind = rng.randrange(4)
        arg = self._leaf(scope, t)
        if isinstance(arg, exp.Literal) and arg.is_string:
            # typed: PostgreSQL cannot resolve LEAD('a') (a polymorphic function of "unknown")
            arg = exp.Cast(this=arg, to=_data_type(_CAST_NAME[SqlType.TEXT]))
        if kind >= 2:
            return (exp.FirstValue if kind == 2 else exp.LastValue)(this=arg), True
        node = (exp.Lead if kind == 0 else exp.Lag)(this=arg)
        if rng.random() < 0.6:
            node.set("offset", _number(rng.randint(1, 3)))
            if rng.random() < 0.5:
                node.set("default", self._literal(t))
        return node, False

    def _total_order_by(self, scope: Scope, total: list[tuple[str, Column]]) -> exp.Order:
        """ORDER BY the total order's columns, after one other column at times."""
        keys = list(total)
        lead = scope.columns()
        lead = [c for c in lead if c[1].type in KEYABLE]
        if lead and self.rng.random() < 0.5:
            keys.insert(0, self.rng.choice(lead))
        return exp.Order(expressions=[self._ordered(c) for c in keys])

    def _frame(self, *, total: bool) -> exp.WindowSpec:
        """A frame; ROWS frames of a few rows only over a total order (``total``)."""
        rng = self.rng
        kind, start, start_side, end, end_side = rng.choice(
            _FRAMES + _ROWS_FRAMES if total else _FRAMES
        )
        spec = exp.WindowSpec(kind=kind, start=start, start_side=start_side, end=end)
        if start == "n":
            spec.set("start", _number(rng.randint(0, 3)))
        if end == "n":
            spec.set("end", _number(rng.randint(1, 3)))
        if end_side is not None:
            spec.set("end_side", end_side)
        return spec

    def _frame_aggregate(self, scope: Scope, t: SqlType) -> exp.Expression:
        """An aggregate of type ``t`` (not BOOL) in a frame: MIN, MAX, COUNT, SUM of DECIMAL."""
        rng = self.rng
        if t == SqlType.INT and rng.random() < 0.6:
            if rng.random() < 0.5:
                return exp.Count(this=exp.Star())
            return exp.Count(this=self._leaf(scope, self._type(scope)))
        aggregates = (exp.Min, exp.Max, exp.Sum) if t == SqlType.DECIMAL else (exp.Min, exp.Max)
        return rng.choice(aggregates)(this=self._leaf(scope, t))

    # --- subqueries -----------------------------------------------------------------------------

    def _subquery_depth(self, scope: Scope) -> int:
        depth, s = 0, scope.outer
        while s is not None:
            depth, s = depth + 1, s.outer
        return depth

    def _subquery_predicate(self, scope: Scope, max_tables: int | None = None) -> exp.Expression:
        """[NOT] EXISTS (SELECT 1 ...) correlated (see _correlation), or [NOT] x IN (SELECT y
        ...), correlated with ``p_correlated_in``. ``max_tables``: in the subquery's FROM
        (``max_subquery_tables`` when None)."""
        p, rng = self.profile, self.rng
        max_tables = p.max_subquery_tables if max_tables is None else max_tables
        inner_scope = Scope(outer=scope)
        # Drawn before the FROM: an inequality reads a bounded first table (see _from)
        inequality = rng.random() < p.p_correlation_inequality
        if rng.random() < 0.5:
            inner = self._from(inner_scope, max_tables, bounded=inequality)
            cond = self._predicate(inner_scope, p.max_depth - 1)
            correlation = self._correlation(scope, inner_scope, inequality)
            if correlation is not None:
                cond = exp.And(this=correlation, expression=cond)
            node = exp.Exists(this=filtered(inner.select(exp.Literal.number(1), copy=False), cond))
            return exp.Not(this=node) if rng.random() < 0.3 else node
        correlated = rng.random() < p.p_correlated_in
        if correlated:
            # one table: run once per outer row, a join in it would be made again each time
            # (SQLite cannot drive a RIGHT or FULL join from the correlation: a timeout)
            max_tables = 1
        t = self._type(scope)
        inner_cols = None
        for _ in range(3):
            inner_scope = Scope(outer=scope)
            inner = self._from(inner_scope, max_tables, bounded=correlated and inequality)
            inner_cols = inner_scope.columns(t)
            if inner_cols:
                break
        if not inner_cols:
            return exp.Is(this=self._leaf(scope, t), expression=exp.Null())
        sub = inner.select(_col(*rng.choice(inner_cols)), copy=False)
        where = self._predicate(inner_scope, p.max_depth - 1) if rng.random() < 0.5 else None
        if correlated:
            correlation = self._correlation(scope, inner_scope, inequality)
            if correlation is not None:
                where = (
                    correlation if where is None else exp.And(this=correlation, expression=where)
                )
        if where is not None:
            sub = filtered(sub, where)
        node = exp.In(this=self._leaf(scope, t), query=exp.Subquery(this=sub))
        return exp.Not(this=node) if rng.random() < 0.3 else node

    def _correlation(
        self, scope: Scope, inner_scope: Scope, inequality: bool
    ) -> exp.Expression | None:
        """What ties a subquery to the outer row: a comparison of an outer column with one of
        the subquery's first table of its type (the others may be outer-joined to it: the
        reference would join them again for every outer row), mostly on a key pair (one index
        lookup per outer row on the reference); an equality (or IS NOT DISTINCT FROM), or
        (``inequality``, drawn with ``p_correlation_inequality``) an inequality. With
        ``p_correlation_several`` one or two more comparisons follow, on any of its tables:
        ``first AND second`` or ``first AND (second OR third)``. None: no pair of columns of
        one type."""
        outer = scope.columns()
        first = Scope(sources=inner_scope.sources[:1]).columns()
        pairs = [(o, i) for o in outer for i in first if o[1].type == i[1].type]
        if not pairs:
            return None
        rng = self.rng
        node = self._correlate(pairs, inequality)
        if rng.random() < self.profile.p_correlation_several:
            pairs = [(o, i) for o in outer for i in inner_scope.columns() if o[1].type == i[1].type]
            more = self._correlate(pairs, rng.random() < 0.5)
            if rng.random() < 0.4:
                third = self._correlate(pairs, rng.random() < 0.5)
                more = exp.Paren(this=exp.Or(this=more, expression=third))
            node = exp.And(this=node, expression=more)
        return node

    def _correlate(
        self, pairs: list[tuple[tuple[str, Column], tuple[str, Column]]], inequality: bool
    ) -> exp.Expression:
        rng = self.rng
        o, i = pairs[self._key_pair_index([(o[1], i[1]) for o, i in pairs])]
        if inequality:
            op = rng.choice(INEQUALITIES) if o[1].type in ORDERABLE else exp.NEQ
        else:
            op = exp.NullSafeEQ if rng.random() < self.profile.p_distinct_from else exp.EQ
        return op(this=_col(*o), expression=_col(*i))

    def _scalar_subquery(self, scope: Scope, t: SqlType) -> exp.Expression:
        inner_scope = Scope(outer=scope)
        inner = self._from(inner_scope, self.profile.max_subquery_tables)
        agg = self._aggregate(inner_scope, t, self.profile.max_depth - 1)
        return exp.Subquery(this=inner.select(agg, copy=False))


# Frames whose rows an ORDER BY that ties rows still determines (RANGE: ties are in or out
# together; or the whole partition), and ROWS frames of a few rows, which need a total order.
# (kind, start, start side, end, end side); "n" is a number of rows, drawn.
_FRAMES = (
    ("RANGE", "UNBOUNDED", "PRECEDING", "CURRENT ROW", None),
    ("RANGE", "CURRENT ROW", None, "UNBOUNDED", "FOLLOWING"),
    ("ROWS", "UNBOUNDED", "PRECEDING", "UNBOUNDED", "FOLLOWING"),
)
_ROWS_FRAMES = (
    ("ROWS", "n", "PRECEDING", "CURRENT ROW", None),
    ("ROWS", "n", "PRECEDING", "n", "FOLLOWING"),
    ("ROWS", "CURRENT ROW", None, "n", "FOLLOWING"),
    ("ROWS", "UNBOUNDED", "PRECEDING", "CURRENT ROW", None),
    ("ROWS", "n", "FOLLOWING", "UNBOUNDED", "FOLLOWING"),
)

_WIDE_DECIMAL = "decimal(38,4)"

# Casts every dialect means the same by: INT to TEXT (its digits), to FLOAT and to DECIMAL
# (wide enough for any BIGINT: DECIMAL(18,4) overflows on DuckDB), DECIMAL to FLOAT. Not FLOAT
# to TEXT (digits differ), FLOAT to INT (SQLite truncates, DuckDB rounds), TEXT to a number
# (SQLite reads '12abc' as 12, others refuse), DECIMAL to TEXT (SQLite keeps it as a float:
# '1.5' against '1.5000'), nor dates (SQLite keeps them as text).
_CASTS: dict[SqlType, tuple[SqlType, ...]] = {
    SqlType.TEXT: (SqlType.INT,),
    SqlType.FLOAT: (SqlType.INT, SqlType.DECIMAL),
    SqlType.DECIMAL: (SqlType.INT,),
}
# DECIMAL(38,4): any BIGINT, and the scale of the generated decimals (DECIMAL(18,4)). DuckDB types
# a UNION or COALESCE of DECIMAL(38,s1) and DECIMAL(p,s2 > s1) as DECIMAL(38,s1), rounding the
# other side: a cast to DECIMAL(19,0) rounded 2.25 to 2 beside it (7 groups in an hour's demo).
_CAST_TO = {SqlType.TEXT: "text", SqlType.FLOAT: "double", SqlType.DECIMAL: _WIDE_DECIMAL}

_CAST_NAME = {
    SqlType.INT: "bigint",
    SqlType.FLOAT: "double",
    SqlType.DECIMAL: "decimal(18,4)",
    SqlType.TEXT: "text",
    SqlType.BOOL: "boolean",
    SqlType.DATE: "date",
    SqlType.TIMESTAMP: "timestamp",
}


def filtered(select: exp.Select, cond: exp.Expression, key: str = "where") -> exp.Select:
    """``select.where(cond, copy=False)`` (or ``.having``), the same tree. sqlglot's builders,
    compiled (sqlglotc), take only a Condition, and a scalar subquery as a predicate is none:
    a SELECT without the clause gets it set as the builder would; one with it gets ``cond``
    ANDed on, in parentheses if it is no Condition."""
    if select.args.get(key) is None:
        select.set(key, (exp.Where if key == "where" else exp.Having)(this=cond))
        return select
    if not isinstance(cond, exp.Condition):
        cond = exp.Paren(this=cond)
    return select.where(cond, copy=False) if key == "where" else select.having(cond, copy=False)


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
    return _clone(built)


def _clone(node: exp.Expression) -> exp.Expression:
    """A copy of a small tree of plain args (a data type and its parameters): what
    ``node.copy()`` makes, without deepcopy's memo, which cost a sixth of generating."""
    args: dict[str, object] = {}
    for key, value in node.args.items():
        if isinstance(value, exp.Expression):
            value = _clone(value)
        elif isinstance(value, list):
            value = [_clone(v) if isinstance(v, exp.Expression) else v for v in value]
        args[key] = value
    return type(node)(**args)


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


def _null(t: SqlType) -> exp.Expression:
    """NULL typed as ``t`` (an untyped NULL would leave its type to each engine)."""
    return exp.Cast(this=exp.Null(), to=_data_type(_CAST_NAME[t]))


def _number(n: int) -> exp.Expression:
    lit = exp.Literal.number(abs(n))
    return exp.Neg(this=lit) if n < 0 else lit
