"""Test oracles: what decides whether an engine answered one generated query correctly.

- ``Differential``: the same query on the system under test and on a reference engine; the
  answers must agree (the rules of the compare package).
- ``TLP`` (ternary logic partitioning, SQLancer): on one engine, a query without WHERE must give
  the same rows as the union of its three partitions by a predicate p: ``WHERE p``,
  ``WHERE NOT (p)`` and ``WHERE (p) IS NULL``.
- ``NoREC`` (non-optimizing reference engine construction, SQLancer): on one engine,
  ``SELECT COUNT(*) FROM ... WHERE p`` must equal
  ``SELECT COALESCE(SUM(CASE WHEN p THEN 1 ELSE 0 END), 0) FROM ...``: the first form is what
  the optimizer works on (filter pushdown, index and join choices), the second evaluates p on
  every row of the FROM.
- ``Plan`` (SQLancer's query-plan oracles, DQP): on one engine (DuckDB or PostgreSQL), the
  query as generated must give the same answer when planned with the optimizer, or some of its
  rules, switched off (plans.py says which, per dialect). It is compared as Differential
  compares; the second side is named by its settings (``unoptimized
  (disabled_optimizers=filter_pushdown)``) and its SQL switches them on before the query, so
  it pastes as it is into the engine's shell.

The metamorphic oracles (TLP, NoREC) derive their queries from the generated one with sqlglot
trees (copies: the input query is never changed). They take its FROM and joins (and its WITH),
from the query itself or, for a set operation, from its leftmost SELECT, and as p its WHERE;
a query without WHERE gets a predicate from the generator's own predicate code, drawn from a
random stream of its (seed, index), so a check replays exactly.

How TLP treats what a partition would change (its ``mode``):

- ``rows``: the select list as it is, ORDER BY and LIMIT dropped; the partitions are joined by
  UNION ALL and compared as multisets. With DISTINCT the whole query keeps it and the
  partitions are joined by UNION (which removes duplicates across partitions as DISTINCT does).
- ``group``: a GROUP BY query is reduced to its grouping keys (HAVING dropped: it would filter
  partial groups); ``SELECT keys ... GROUP BY keys`` against the partitions joined by UNION.
- ``aggregate``: a select list made only of MIN, MAX, COUNT (not DISTINCT) and SUM without
  GROUP BY: each partition aggregates, and the outer query recombines (MIN of MINs, MAX of
  MAXes, SUM of COUNTs and of SUMs). SUM over floats (and over DECIMAL on SQLite, which keeps
  it as a float) only with ``float_sums=True``: float addition is not associative. Rounding
  stays within ``float_rel_tol``, but infinities do not: on SQLite, which answers NaN as NULL,
  a partition whose sum is inf + -inf gives NULL, which the outer SUM then skips, so the
  recombined sum is -inf where the whole one is NULL.
- Any other aggregate or window (AVG, COUNT(DISTINCT), an aggregate inside an expression, RANK
  ...) is replaced by its argument (COUNT(*) and RANK() by 1) and the query is checked in
  ``rows`` mode: what the partitions would split is taken out, the rest is still tested.

On one engine an error on one side only is not a finding of TLP, NoREC or Plan: SQL leaves
the order of evaluation free, so a predicate that fails on some row (an overflow, say) may be
evaluated in one form (or plan) and not in the other. Such a check is counted as BOTH_ERROR (a
query this oracle cannot use) with the refusal in its detail. Crashes, timeouts and the row
limit keep their kinds.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.generator import Generator

from querygen.engine import plans
from querygen.engine.compare import Comparison, Kind, compare
from querygen.engine.engines import EngineClient, EngineError, PostgresClient
from querygen.engine.generator import Query, QueryGenerator, Scope, filtered
from querygen.engine.model import Outcome, Schema, SqlType, Status, Table
from querygen.engine.profile import Profile

__all__ = [
    "NoREC",
    "TLP",
    "Plan",
    "Check",
    "Differential",
    "Oracle",
    "TLPMode",
    "naming_error",
    "render",
]

TLPMode = Literal["rows", "group", "aggregate"]

# The status of the side whose failure gives a check its kind (compare ranks them so).
_STATUS_OF_KIND = {
    Kind.CRASH: Status.CRASH,
    Kind.TIMEOUT: Status.TIMEOUT,
    Kind.TOO_BIG: Status.TOO_BIG,
}


def naming_error(kind: Kind, failures: Iterable[tuple[Status, str]]) -> str:
    """The error a finding is named by: that of the first side (SUT first) whose failure gave
    the check its kind, so a reference that crashed is not titled with the SUT's refusal; else
    the first error text."""
    failures = [(status, error) for status, error in failures if error]
    named = _STATUS_OF_KIND.get(kind)
    for status, error in failures:
        if status is named:
            return error
    return next((error for status, error in failures if status is not Status.OK), "")


@dataclass
class Check:
    """What one oracle concluded about one query.

    ``sql`` and ``outcomes`` are keyed by side, in (SUT, reference) order: ``sut``/``ref`` for
    Differential, ``partitioned``/``whole`` for TLP, ``optimized``/``unoptimized`` for NoREC,
    ``optimized``/``unoptimized (<settings>)`` for Plan;
    ``engines`` names the engine each side ran on. ``tree`` is the query the check is about
    (for its shape): the generated query, or the SUT side's derived query. ``skipped``: the
    oracle could not use this query (kind MATCH, nothing ran).
    """

    kind: Kind
    sql: dict[str, str]
    outcomes: dict[str, Outcome]
    detail: str
    engines: dict[str, str] = field(default_factory=dict)
    sut_only: list[tuple[Any, ...]] = field(default_factory=list)
    ref_only: list[tuple[Any, ...]] = field(default_factory=list)
    seconds_in_engines: float = 0.0
    skipped: bool = False
    tree: exp.Expression | None = None
    mode: str = ""  # how a metamorphic oracle derived its queries (TLP: rows/group/aggregate)
    comparison: Comparison | None = None

    @property
    def sides(self) -> list[str]:
        return list(self.sql)

    @property
    def finding(self) -> bool:
        return self.kind.finding and not self.skipped

    @property
    def errors(self) -> dict[str, str]:
        """The error text of each side that did not answer OK."""
        return {side: o.error for side, o in self.outcomes.items() if not o.ok and o.error}

    @property
    def error(self) -> str:
        """The error the finding is signed and titled by (see ``naming_error``)."""
        return naming_error(self.kind, ((o.status, o.error) for o in self.outcomes.values()))

    @property
    def reference_ok(self) -> bool:
        """Whether the reference side (the second) answered with rows."""
        sides = self.sides
        return len(sides) > 1 and sides[1] in self.outcomes and self.outcomes[sides[1]].ok

    def verdict(self) -> tuple[Any, ...]:
        """What a replay must reproduce: kind, SQL, row counts and the differing rows (as
        sorted reprs, so that NaN equals NaN and the engine's row order does not matter);
        not the timings, nor the detail, which quotes an example row an engine may pick in
        another order."""
        c = self.comparison
        if c is None:
            return (self.kind, tuple(self.sql.items()), self.skipped)
        return (
            self.kind,
            tuple(self.sql.items()),
            (c.sut_rows, c.ref_rows, c.sut_only_count, c.ref_only_count),
            _shown(self.sut_only, c.sut_only_count),
            _shown(self.ref_only, c.ref_only_count),
            self.skipped,
        )


def _shown(rows: list[tuple[Any, ...]], total: int) -> tuple[str, ...] | None:
    # Past MAX_DIFF_ROWS which rows were kept depends on the engine's row order.
    return tuple(sorted(map(repr, rows))) if len(rows) == total else None


class Oracle(Protocol):
    """Checks one generated query; never raises for what an engine answered."""

    name: str

    def check(self, query: Query) -> Check: ...


_generators = threading.local()


def render(tree: exp.Expression, dialect: str) -> str:
    """``tree.sql(dialect=dialect)``, with one sqlglot Generator per dialect and thread kept
    rather than built per call, and the tree left as it was. ``tree.sql`` copies the whole tree
    because SQLite's and PostgreSQL's generators rewrite a division as they render it (a CAST
    on an operand); here only a division is copied (_copied_divisions), the rest rendered as it
    is: no other node is rewritten (tests/querygen/engine/test_oracles.py renders thousands of
    generated queries in every dialect and checks that each tree is left as it was)."""
    cache: dict[str, tuple[Generator, bool]] | None = getattr(_generators, "by_dialect", None)
    if cache is None:
        cache = _generators.by_dialect = {}
    found = cache.get(dialect)
    if found is None:
        generator = Dialect.get_or_raise(dialect).generator()
        found = cache[dialect] = (generator, not _copied_divisions(generator))
        if dialect == "sqlite":
            _plain_casts(generator)
    generator, copy = found
    return generator.generate(tree, copy=copy)


def _copied_divisions(generator: Generator) -> bool:
    """Divisions rendered from a copy of their own subtree, which the dialect's div_sql may
    rewrite: a division costs a copy of itself, instead of every tree a walk looking for one (a
    third of SQLite's rendering) and a tree with one a copy of the whole. ``_dispatch``: see
    _plain_casts; without it (False) render copies every tree, as ``tree.sql`` does."""
    dispatch = getattr(generator, "_dispatch", None)
    if not isinstance(dispatch, dict) or exp.Div not in dispatch:
        return False
    div_sql = dispatch[exp.Div]
    generator._dispatch = {**dispatch, exp.Div: lambda gen, div: div_sql(gen, div.copy())}
    return True


# The types SQLite's generator renders as DATE(), DATETIME() or TIME() instead of a CAST.
_SQLITE_TIME_TYPES = {
    exp.DataType.Type.DATE: "DATE",
    exp.DataType.Type.DATETIME: "DATETIME",
    exp.DataType.Type.TIMESTAMP: "DATETIME",
    exp.DataType.Type.TIMESTAMPNTZ: "DATETIME",
    exp.DataType.Type.TIME: "TIME",
}


def _plain_casts(generator: Generator) -> None:
    """SQLite's cast_sql asks ``is_type("date")`` and four more, each of which parses a type
    name: a third of a query's rendering. The same decision without parsing (a date or time
    type is DATE(), DATETIME() or TIME(), any other a plain CAST: ``is_type`` of a name without
    parameters compares the type alone, DECIMAL(38, 4) as DECIMAL), the same text
    (test_oracles renders thousands of generated queries against ``tree.sql``).
    ``_dispatch`` is sqlglot's own table of handlers (its compiled classes cannot be
    subclassed); without it everything goes through SQLite's cast_sql as before."""
    dispatch = getattr(generator, "_dispatch", None)
    if not isinstance(dispatch, dict) or exp.Cast not in dispatch:
        return
    sqlite_cast = dispatch[exp.Cast]

    def cast_sql(gen: Generator, cast: exp.Cast) -> str:
        to = cast.args.get("to")
        if not isinstance(to, exp.DataType) or to.this == exp.DataType.Type.USERDEFINED:
            return sqlite_cast(gen, cast)  # compared whole by is_type: as sqlglot decides
        name = _SQLITE_TIME_TYPES.get(to.this)
        return Generator.cast_sql(gen, cast) if name is None else gen.func(name, cast.this)

    generator._dispatch = {**dispatch, exp.Cast: cast_sql}


def _run(engine: EngineClient, sql: str, timeout: float, max_rows: int) -> tuple[Outcome, float]:
    started = time.perf_counter()
    outcome = engine.execute(sql, timeout=timeout, max_rows=max_rows)
    return outcome, time.perf_counter() - started


def _from_comparison(
    comparison: Comparison,
    sql: dict[str, str],
    outcomes: dict[str, Outcome],
    engines: dict[str, str],
    seconds: float,
    tree: exp.Expression,
    mode: str = "",
) -> Check:
    return Check(
        kind=comparison.kind,
        sql=sql,
        outcomes=outcomes,
        detail=comparison.detail,
        engines=engines,
        sut_only=comparison.sut_only,
        ref_only=comparison.ref_only,
        seconds_in_engines=seconds,
        tree=tree,
        mode=mode,
        comparison=comparison,
    )


# --- differential ---------------------------------------------------------------------------


class Differential:
    """The query on the SUT and on the reference, rendered in each one's dialect."""

    def __init__(
        self,
        sut: EngineClient,
        ref: EngineClient,
        *,
        timeout: float = 10.0,
        max_rows: int = 10_000,
        float_rel_tol: float = 1e-6,
    ) -> None:
        self.sut, self.ref = sut, ref
        self.timeout, self.max_rows, self.float_rel_tol = timeout, max_rows, float_rel_tol
        self.name = f"differential {sut.name} vs {ref.name}"

    def check(self, query: Query) -> Check:
        sql = {
            "sut": render(query.tree, self.sut.dialect),
            "ref": render(query.tree, self.ref.dialect),
        }
        sut, s_seconds = _run(self.sut, sql["sut"], self.timeout, self.max_rows)
        ref, r_seconds = _run(self.ref, sql["ref"], self.timeout, self.max_rows)
        comparison = compare(
            sut,
            ref,
            types=query.types,
            order_keys=query.order_keys,
            float_rel_tol=self.float_rel_tol,
        )
        return _from_comparison(
            comparison,
            sql,
            {"sut": sut, "ref": ref},
            {"sut": self.sut.name, "ref": self.ref.name},
            s_seconds + r_seconds,
            query.tree,
        )


# --- shared by the metamorphic oracles ------------------------------------------------------


@dataclass
class _Core:
    """The parts of a generated query the metamorphic oracles reuse (all copies)."""

    select: exp.Select  # the SELECT core, WITH taken off
    with_: exp.With | None
    predicate: exp.Expression | None  # its WHERE


def _core_of(tree: exp.Expression) -> _Core | None:
    node = tree
    while isinstance(node, exp.SetOperation | exp.Subquery):
        node = node.this
    if not isinstance(node, exp.Select) or node.args.get("from_") is None:
        return None
    select = node.copy()
    with_ = tree.args.get("with_") or select.args.get("with_")
    select.set("with_", None)
    where = select.args.get("where")
    return _Core(
        select=select,
        with_=with_.copy() if isinstance(with_, exp.With) else None,
        predicate=where.this.copy() if isinstance(where, exp.Where) else None,
    )


def _bare(core: exp.Select) -> exp.Select:
    """A SELECT with only the core's FROM and joins."""
    select = exp.Select()
    select.set("from_", core.args["from_"].copy())
    joins = core.args.get("joins") or []
    if joins:
        select.set("joins", [j.copy() for j in joins])
    return select


def _with(statement: exp.Expression, with_: exp.With | None) -> exp.Expression:
    if with_ is not None:
        statement.set("with_", with_.copy())
    return statement


_ALIAS_NUMBER = re.compile(r"^w?t(\d+)$")


class _Predicates:
    """Predicates for queries without WHERE, from the generator's own predicate code over the
    tables of the query's FROM, each from a random stream of (salt, seed, index)."""

    def __init__(self, schema: Schema, profile: Profile | None, salt: str) -> None:
        self.schema = schema
        self.salt = salt
        self.generator = QueryGenerator(schema, profile) if schema.tables else None
        self.tables = {t.name.casefold(): t for t in schema.tables}

    def make(self, core: exp.Select, query: Query) -> exp.Expression | None:
        if self.generator is None:
            return None
        scope = Scope()
        highest = 0
        for source in [core.args["from_"].this, *(j.this for j in core.args.get("joins") or [])]:
            if not isinstance(source, exp.Table):
                continue
            table: Table | None = self.tables.get(source.name.casefold())
            alias = source.alias_or_name
            if table is not None:  # a CTE's columns are not in the schema: not used
                scope.sources.append((alias, table))
        for node in query.tree.find_all(exp.TableAlias, exp.Table):
            name = node.name if isinstance(node, exp.TableAlias) else node.alias_or_name
            m = _ALIAS_NUMBER.match(name or "")
            if m:
                highest = max(highest, int(m.group(1)))
        if not scope.sources:
            return None
        digest = hashlib.blake2b(
            f"{self.salt}:{query.seed}:{query.index}".encode(), digest_size=8
        ).digest()
        self.generator.rng = random.Random(int.from_bytes(digest, "big"))  # noqa: S311
        # Past every alias of the query: a subquery in p must not shadow one of its names.
        self.generator._aliases = highest
        return self.generator._predicate(scope, 1)


class _SingleEngine:
    """What the oracles on one engine share: the engine, its limits, and comparing two forms
    of a query on it, where a refusal of one form only is not a finding (module docstring)."""

    def __init__(
        self,
        engine: EngineClient,
        *,
        timeout: float = 10.0,
        max_rows: int = 10_000,
        float_rel_tol: float = 1e-6,
    ) -> None:
        self.engine = engine
        self.name = f"{type(self).__name__} on {engine.name}"
        self.timeout, self.max_rows, self.float_rel_tol = timeout, max_rows, float_rel_tol

    def _skip(self, query: Query, why: str) -> Check:
        return Check(
            kind=Kind.MATCH,
            sql={},
            outcomes={},
            detail=f"skipped: {why}",
            engines={},
            skipped=True,
            tree=query.tree,
        )

    def _compare(
        self,
        sides: tuple[str, str],
        trees: tuple[exp.Expression, exp.Expression],
        mode: str = "",
    ) -> Check:
        dialect = self.engine.dialect
        sql = {side: render(tree, dialect) for side, tree in zip(sides, trees, strict=True)}
        first, s_seconds = _run(self.engine, sql[sides[0]], self.timeout, self.max_rows)
        second, r_seconds = _run(self.engine, sql[sides[1]], self.timeout, self.max_rows)
        return self._verdict(sql, (first, second), s_seconds + r_seconds, trees[0], mode=mode)

    def _verdict(
        self,
        sql: dict[str, str],
        outcomes: tuple[Outcome, Outcome],
        seconds: float,
        tree: exp.Expression,
        query: Query | None = None,
        mode: str = "",
    ) -> Check:
        """The check of two outcomes keyed like ``sql``; compared as ``query``'s rows are (its
        types and ORDER BY keys), or as a multiset of rows without it."""
        sides = list(sql)
        first, second = outcomes
        comparison = compare(
            first,
            second,
            types=query.types if query is not None else None,
            order_keys=query.order_keys if query is not None else None,
            float_rel_tol=self.float_rel_tol,
        )
        if comparison.kind is Kind.ERROR:
            refused = sides[0] if first.status is Status.ERROR else sides[1]
            message = (first if refused == sides[0] else second).error.strip().splitlines()
            comparison = Comparison(
                kind=Kind.BOTH_ERROR,
                detail=f"only the {refused} form refused (order of evaluation is free; "
                f"not a finding): {message[0] if message else ''}",
                side=comparison.side,
                sut_error=first.error,
                ref_error=second.error,
            )
        names = {side: self.engine.name for side in sides}
        return _from_comparison(
            comparison, sql, dict(zip(sides, outcomes, strict=True)), names, seconds, tree, mode
        )


class _Metamorphic(_SingleEngine):
    """What TLP and NoREC share: where p comes from. ``schema`` (the engine's own tables when
    None) and ``profile`` are what predicates are drawn from."""

    salt = ""  # the oracle's own random stream per (seed, index)

    def __init__(
        self,
        engine: EngineClient,
        *,
        schema: Schema | None = None,
        profile: Profile | None = None,
        **limits: Any,
    ) -> None:
        super().__init__(engine, **limits)  # timeout, max_rows, float_rel_tol
        schema = schema if schema is not None else Schema(tuple(engine.tables()))
        self.profile = profile
        self.predicates = _Predicates(schema, profile, self.salt)

    def use_schema(self, schema: Schema) -> None:
        """Draw predicates from ``schema`` from now on (generated mode: each new database)."""
        if schema != self.predicates.schema:
            self.predicates = _Predicates(schema, self.profile, self.salt)

    def _predicate(self, core: _Core, query: Query) -> exp.Expression | None:
        if core.predicate is not None:
            return core.predicate
        return self.predicates.make(core.select, query)


# --- TLP ------------------------------------------------------------------------------------


def _outer_nodes(
    root: exp.Expression, wanted: Callable[[exp.Expression], bool]
) -> list[exp.Expression]:
    """Nodes of ``root`` that ``wanted`` picks, outside subqueries and without descending into
    a picked node."""
    found: list[exp.Expression] = []

    def visit(node: exp.Expression) -> None:
        if wanted(node):
            found.append(node)
            return
        for child in node.iter_expressions():
            if not isinstance(child, exp.Query | exp.Subquery):
                visit(child)

    visit(root)
    return found


def _is_aggregate_or_window(node: exp.Expression) -> bool:
    return isinstance(node, exp.AggFunc | exp.Window)


def _row_value(node: exp.Expression) -> exp.Expression:
    """What an aggregate or window is replaced by in rows mode: its argument, or 1."""
    if isinstance(node, exp.Window):
        node = node.this
    arg = node.this if isinstance(node, exp.AggFunc | exp.Anonymous) else None
    if isinstance(arg, exp.Distinct) and len(arg.expressions) == 1:
        arg = arg.expressions[0]
    if not isinstance(arg, exp.Expression) or isinstance(arg, exp.Star | exp.Distinct):
        return exp.Literal.number(1)
    return _strip(arg.copy())


def _strip(item: exp.Expression) -> exp.Expression:
    """``item`` with every aggregate and window outside subqueries replaced by its argument."""
    if _is_aggregate_or_window(item):
        return _row_value(item)
    for node in _outer_nodes(item, _is_aggregate_or_window):
        node.replace(_row_value(node))
    return item


_RECOMBINE: dict[type[exp.Expression], type[exp.Func]] = {
    exp.Min: exp.Min,
    exp.Max: exp.Max,
    exp.Count: exp.Sum,
    exp.Sum: exp.Sum,
}


def _recombinable(item: exp.Expression, t: SqlType | None, inexact: set[SqlType | None]) -> bool:
    """Whether TLP can recombine this select item; ``inexact``: the types SUM must not
    recombine (an untyped SUM may be over floats)."""
    agg = item.this if isinstance(item, exp.Alias) else item
    if type(agg) not in _RECOMBINE:
        return False
    if isinstance(agg, exp.Count) and isinstance(agg.this, exp.Distinct):
        return False
    return not (isinstance(agg, exp.Sum) and t in inexact)


def _union(parts: list[exp.Select], distinct: bool) -> exp.Expression:
    node: exp.Expression = parts[0]
    for part in parts[1:]:
        node = exp.Union(this=node, expression=part, distinct=distinct)
    return node


def _partitions(p: exp.Expression) -> list[exp.Expression]:
    return [
        exp.Paren(this=p.copy()),
        exp.Not(this=exp.Paren(this=p.copy())),
        exp.Is(this=exp.Paren(this=p.copy()), expression=exp.Null()),
    ]


class TLP(_Metamorphic):
    """Ternary logic partitioning on one engine; see the module docstring for the modes."""

    salt = "tlp"

    def __init__(self, engine: EngineClient, *, float_sums: bool = False, **options: Any) -> None:
        super().__init__(engine, **options)  # timeout, max_rows, float_rel_tol, schema, profile
        self.float_sums = float_sums
        self._inexact: set[SqlType | None] = set() if float_sums else {SqlType.FLOAT, None}
        if not float_sums and engine.dialect == "sqlite":
            self._inexact.add(SqlType.DECIMAL)  # SQLite keeps NUMERIC values as floats

    def derive(self, query: Query) -> tuple[exp.Expression, exp.Expression, TLPMode] | None:
        """(partitioned, whole, mode) for the query, or None when it cannot be used."""
        core = _core_of(query.tree)
        if core is None:
            return None
        p = self._predicate(core, query)
        if p is None:
            return None
        select = core.select
        items = [i.copy() for i in select.expressions]
        group = select.args.get("group")
        distinct = select.args.get("distinct") is not None
        has_aggregates = any(_outer_nodes(i, _is_aggregate_or_window) for i in items)

        if group is not None and group.expressions:
            exprs = [_group_key(k, items) for k in group.expressions]
            keys = [exp.alias_(k.copy(), f"k{n}") for n, k in enumerate(exprs)]
            whole = _bare(select).select(*keys).group_by(*[k.copy() for k in exprs])
            parts = [
                _bare(select)
                .select(*[k.copy() for k in keys])
                .where(w)
                .group_by(*[k.copy() for k in exprs])
                for w in _partitions(p)
            ]
            partitioned = _union(parts, distinct=True)
            mode: TLPMode = "group"
        elif (
            has_aggregates
            and items
            and all(
                _recombinable(i, _type_at(query, n), self._inexact) for n, i in enumerate(items)
            )
        ):
            inner = [exp.alias_(_unalias(i).copy(), f"a{n}") for n, i in enumerate(items)]
            whole = _bare(select).select(*[i.copy() for i in items])
            parts = [
                _bare(select).select(*[i.copy() for i in inner]).where(w) for w in _partitions(p)
            ]
            outer = [
                exp.alias_(
                    _RECOMBINE[type(_unalias(i))](this=exp.column(f"a{n}", table="tlp")),
                    f"c{n}",
                )
                for n, i in enumerate(items)
            ]
            partitioned = (
                exp.Select()
                .select(*outer)
                .from_(exp.Subquery(this=_union(parts, distinct=False), alias="tlp"))
            )
            mode = "aggregate"
        else:
            items = [_strip(i) for i in items]
            whole = _bare(select).select(*[i.copy() for i in items])
            if distinct:
                whole = whole.distinct()
            parts = [
                _bare(select).select(*[i.copy() for i in items]).where(w) for w in _partitions(p)
            ]
            partitioned = _union(parts, distinct=distinct)
            mode = "rows"
        return _with(partitioned, core.with_), _with(whole, core.with_), mode

    def check(self, query: Query) -> Check:
        derived = self.derive(query)
        if derived is None:
            return self._skip(query, "no SELECT with a FROM, or no predicate for its tables")
        partitioned, whole, mode = derived
        return self._compare(("partitioned", "whole"), (partitioned, whole), mode)


def _group_key(key: exp.Expression, items: list[exp.Expression]) -> exp.Expression:
    """A GROUP BY key as an expression: ``GROUP BY 2`` names the second select item."""
    if isinstance(key, exp.Literal) and key.is_int and 1 <= int(key.name) <= len(items):
        return _unalias(items[int(key.name) - 1])
    return key


def _unalias(item: exp.Expression) -> exp.Expression:
    return item.this if isinstance(item, exp.Alias) else item


def _type_at(query: Query, n: int) -> SqlType | None:
    return query.types[n] if n < len(query.types) else None


# --- NoREC ----------------------------------------------------------------------------------


class NoREC(_Metamorphic):
    """COUNT(*) with WHERE p against the sum of CASE WHEN p over the same FROM, on one engine."""

    salt = "norec"

    def derive(self, query: Query) -> tuple[exp.Expression, exp.Expression] | None:
        """(optimized, unoptimized) for the query, or None when it cannot be used."""
        core = _core_of(query.tree)
        if core is None:
            return None
        p = self._predicate(core, query)
        if p is None:
            return None
        count = exp.alias_(exp.Count(this=exp.Star()), "n")
        optimized = filtered(_bare(core.select).select(count), p)
        flag = exp.Case(
            ifs=[exp.If(this=p.copy(), true=exp.Literal.number(1))],
            default=exp.Literal.number(0),
        )
        total = exp.Coalesce(this=exp.Sum(this=flag), expressions=[exp.Literal.number(0)])
        unoptimized = _bare(core.select).select(exp.alias_(total, "n"))
        return _with(optimized, core.with_), _with(unoptimized, core.with_)

    def check(self, query: Query) -> Check:
        derived = self.derive(query)
        if derived is None:
            return self._skip(query, "no SELECT with a FROM, or no predicate for its tables")
        return self._compare(("optimized", "unoptimized"), derived)


# --- plan -----------------------------------------------------------------------------------


class Plan(_SingleEngine):
    """The query as generated, then again with the optimizer or some of its rules switched off
    (plans.py: which, per dialect), compared as Differential compares (the query's types and
    ORDER BY keys). On DuckDB the settings are SET on the engine's session before the second
    run and restored after it, whatever it answered; on PostgreSQL, whose engine rolls back
    every query's SETs, the second run goes to a connection opened with them (``conninfo``:
    the engine's database, password included), one per set of settings (a dozen at most),
    kept until ``close()``. SQLite: ValueError.

    Which settings a query gets is drawn from its (seed, index), so a replay or a reduction
    candidate of it runs under the same ones."""

    def __init__(self, engine: EngineClient, *, conninfo: str | None = None, **limits: Any) -> None:
        if engine.dialect not in plans.DIALECTS:
            raise ValueError(
                f"the plan oracle needs DuckDB or PostgreSQL; {engine.name} is {engine.dialect}"
            )
        if engine.dialect == "postgres" and not conninfo:
            raise ValueError(
                "the plan oracle on PostgreSQL needs the database's conninfo: it opens "
                "connections planning under other settings"
            )
        super().__init__(engine, **limits)  # timeout, max_rows, float_rel_tol
        self.conninfo = conninfo
        # What the engine has, read once (a short query limit must not hide the list).
        listed = engine.execute(
            plans.available_sql(engine.dialect), timeout=max(10.0, self.timeout)
        )
        names = [str(row[0]) for row in listed.rows] if listed.ok else None
        self.menu = plans.menu(engine.dialect, names)
        self._connections: dict[plans.Settings, EngineClient] = {}
        weakref.finalize(self, _close_all, self._connections)

    def settings(self, query: Query) -> plans.Settings:
        """What query (seed, index) runs under the second time."""
        return self.menu.pick(query.seed, query.index)

    def check(self, query: Query) -> Check:
        settings = self.settings(query)
        plain = render(query.tree, self.engine.dialect)
        sql = {"optimized": plain, f"unoptimized ({settings.label})": settings.script(plain)}
        first, seconds = _run(self.engine, plain, self.timeout, self.max_rows)
        if settings.values:
            second, more = self._on_connection(settings, plain)
        else:
            second, more = self._on_session(settings, plain)
        if second is None:
            return self._skip(query, f"the engine refused the settings {settings.label}")
        return self._verdict(sql, (first, second), seconds + more, query.tree, query)

    def _on_session(self, settings: plans.Settings, sql: str) -> tuple[Outcome | None, float]:
        """The query on the engine's session under the settings (None: the engine refused
        them), which are then restored whatever happened."""
        refused, seconds = self._statements(settings.statements)
        second = None
        if refused is None:
            second, more = _run(self.engine, sql, self.timeout, self.max_rows)
            seconds += more
        for _attempt in range(2):  # once more: a session that crashed starts with defaults
            refused, more = self._statements(settings.restore)
            seconds += more
            if refused is None:
                return second, seconds
        raise EngineError(
            f"{self.engine.name}: cannot restore the optimizer settings after "
            f"{settings.label}: {refused.error}"
        )

    def _statements(self, statements: tuple[str, ...]) -> tuple[Outcome | None, float]:
        """Run settings statements on the engine: the first outcome that was not OK (None:
        all were), and the seconds they took."""
        seconds = 0.0
        for statement in statements:
            outcome, took = _run(self.engine, statement, self.timeout, self.max_rows)
            seconds += took
            if not outcome.ok:
                return outcome, seconds
        return None, seconds

    def _on_connection(self, settings: plans.Settings, sql: str) -> tuple[Outcome, float]:
        """The query on the connection opened with the settings (opened the first time: a
        server that cannot be reached then is a CRASH, as for the engine itself)."""
        started = time.perf_counter()
        engine = self._connections.get(settings)
        if engine is None:
            assert self.conninfo is not None
            try:
                engine = PostgresClient(
                    plans.connection_options(self.conninfo, settings),
                    name=f"{self.engine.name} ({settings.label})",
                )
            except EngineError as exc:
                seconds = time.perf_counter() - started
                return Outcome(Status.CRASH, error=str(exc), seconds=seconds), seconds
            self._connections[settings] = engine
        outcome, _ = _run(engine, sql, self.timeout, self.max_rows)
        return outcome, time.perf_counter() - started

    def close(self) -> None:
        """Close the connections opened for settings (the engine itself is the caller's); an
        oracle dropped without it closes them when it is collected."""
        _close_all(self._connections)

    def __enter__(self) -> Plan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_all(connections: dict[plans.Settings, EngineClient]) -> None:
    for engine in connections.values():
        engine.close()
    connections.clear()
