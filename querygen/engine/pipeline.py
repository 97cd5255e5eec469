"""From a finding to the bug behind it: reduce the query while the oracle still fails the same
way, then sign the *reduced* query (signature.py), so that findings of one bug, which differ in
everything the reduction takes away, share one signature.

"The same way" is the finding's ``reproduce_key``: its kind, which sides refused the query, and
the normalized text of the first error. Candidates are checked by the run's own oracle, as the
generated query number (seed, index) would be, with their output types inferred from the values
(a reduced select list no longer matches the generated one) and compared as multisets (the
ORDER BY keys of the original no longer apply): a finding that only an order difference shows
does not reduce, and keeps its original query.

Signatures here add, to the reduced query's shape, the types of the columns it reads (from the
schema the queries were drawn from): the shape drops column names, so without the types a NaN
read from a FLOAT column and a rounding of a DECIMAL one, both ``SELECT t.c FROM t``, would be
one group.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlglot import exp

from querygen.engine import census
from querygen.engine.bisect import fixed_in, scan
from querygen.engine.compare import Kind
from querygen.engine.database import Database, script
from querygen.engine.engines import EngineClient
from querygen.engine.generated import GeneratedQueries, LoadFailed
from querygen.engine.generator import Query
from querygen.engine.model import Outcome, Schema
from querygen.engine.oracles import Check, Oracle
from querygen.engine.reduce import reduce, tree_size
from querygen.engine.runner import FailedCheck
from querygen.engine.shape import query_shape
from querygen.engine.signature import (
    KnownIssue,
    match_known,
    normalize_error,
    signature,
)

__all__ = [
    "Reduced",
    "bisect_reduced",
    "canonical",
    "check_tree",
    "column_types",
    "difference_key",
    "reduce_finding",
    "reproduce_key",
]

DEFAULT_MAX_CHECKS = 150
DEFAULT_MAX_DATABASE_CHECKS = 120
SCRIPT_ROWS = 20  # rows of each answer a reproducer quotes


@dataclass(frozen=True)
class Reduced:
    """A finding after reduction: the reduced query, the oracle's check of it (its SQL per side
    and both results), sizes in tree nodes, and the signature and known-issue match of the
    reduced query. ``reduced`` is False when nothing smaller failed the same way (or the check
    of the reduced query no longer did: engines that answer differently on a second run)."""

    finding: FailedCheck
    tree: exp.Expression
    check: Check
    original_size: int
    reduced_size: int
    checks: int
    reduced: bool
    shape: str
    signature: str
    error: str
    known: KnownIssue | None
    database: Database | None = None  # generated mode: what is left of the query's database
    original_rows: int = 0
    dialects: tuple[str, ...] = ()  # of the sides, in order (generated mode)
    fixed_in: str = ""  # the release from which the reproducer stops failing (bisected)

    @property
    def ratio(self) -> float:
        return self.reduced_size / self.original_size if self.original_size else 1.0

    def scripts(self) -> dict[str, str]:
        """Per side, a self-contained reproducer (generated mode; else empty): the statements
        that make the reduced database, the side's query, and every side's answer."""
        if self.database is None or not self.dialects:
            return {}
        answers = [(side, describe_outcome(o)) for side, o in self.check.outcomes.items()]
        out: dict[str, str] = {}
        for n, (side, sql) in enumerate(self.check.sql.items()):
            dialect = self.dialects[min(n, len(self.dialects) - 1)]
            out[side] = script(self.database, dialect, sql, answers)
        return out


def bisect_reduced(reduced: Reduced, ladder: Sequence[tuple[str, EngineClient]]) -> Reduced:
    """The reduced finding's reproducer (its database and the SUT side's query) on each
    release of ``ladder`` (oldest first), against the reference side's answer. Fixed in a
    release of the ladder: the finding is signed by that release, its kind and error, and
    the constructs of its reduced query (census.py), not by the query's whole shape: the
    variants of one bug that a later release fixed are one group. Still failing on the last
    release (or not reduced to a database): as it was."""
    sides = list(reduced.check.sql)
    if reduced.database is None or len(sides) < 2 or not ladder:
        return reduced
    expected = reduced.check.outcomes.get(sides[1])
    if expected is None:
        return reduced
    steps = scan(ladder, reduced.database.statements(reduced.dialects[0]),
                 reduced.check.sql[sides[0]], expected)  # fmt: skip
    release = fixed_in(steps)
    if release is None:
        return reduced
    constructs = ",".join(sorted(census.constructs(reduced.tree))) or "-"
    shape = f"fixed in {release}; constructs: {constructs}"
    return replace(
        reduced,
        fixed_in=release,
        shape=shape,
        signature=signature(reduced.finding.kind, shape, reduced.error),
    )


def describe_outcome(outcome: Outcome) -> str:
    """An answer as a reproducer's comment shows it: the rows, or the error."""
    if not outcome.ok:
        return f"{outcome.status.value}: {outcome.error.strip()}"
    rows = [", ".join(map(repr, row)) for row in outcome.rows[:SCRIPT_ROWS]]
    more = len(outcome.rows) - len(rows)
    head = f"{len(outcome.rows)} row{'s' if len(outcome.rows) != 1 else ''}"
    return "\n".join([head, *rows, *([f"... {more} more"] if more > 0 else [])])


def reproduce_key(check: Check) -> tuple[Kind, tuple[str, ...], str]:
    """What a candidate must reproduce: kind, the sides that refused, the normalized error the
    finding is named by (Check.error)."""
    return check.kind, tuple(sorted(check.errors)), normalize_error(check.error)


def check_tree(oracle: Oracle, tree: exp.Expression, seed: int, index: int) -> Check:
    """The oracle's check of any query tree, as if it were generated query (seed, index)."""
    return oracle.check(Query(tree=tree, types=[], order_keys=None, seed=seed, index=index))


def reduce_finding(
    oracle: Oracle,
    finding: FailedCheck,
    *,
    known: Iterable[KnownIssue] = (),
    schema: Schema | None = None,
    max_checks: int = DEFAULT_MAX_CHECKS,
    deadline: float | None = None,
    source: GeneratedQueries | None = None,
) -> Reduced:
    """Reduce ``finding`` against ``oracle`` (the one that found it), then sign the result
    (with the types of the columns it reads, when ``schema`` is given). Past ``deadline`` (a
    ``time.monotonic()`` value: a run's time budget) no candidate is checked any more: the
    reduction keeps what it has. With ``source`` (generated mode) the query's database is
    reduced too (tables, columns, indexes, rows), after the query."""
    if source is not None:
        try:
            source.use(source.database_of(finding.index))
        except LoadFailed:
            source = None  # it loaded when the finding was made: an engine that changed since
    reduced = _reduce_query(oracle, finding, known, schema, max_checks, deadline)
    if source is None or reduced.finding.check.tree is None:
        return reduced
    return _reduce_database(oracle, reduced, source, deadline)


def _reduce_query(
    oracle: Oracle,
    finding: FailedCheck,
    known: Iterable[KnownIssue],
    schema: Schema | None,
    max_checks: int,
    deadline: float | None,
) -> Reduced:
    original = finding.check
    tree = original.tree
    sign = _Signer(finding, known, schema)
    if tree is None:  # nothing to reduce: sign what the runner signed
        return sign(None, original, 0, 0, 0)
    wanted = reproduce_key(original)

    def still_fails(candidate: exp.Expression) -> bool:
        if deadline is not None and time.monotonic() > deadline:
            return False
        return reproduce_key(check_tree(oracle, candidate, finding.seed, finding.index)) == wanted

    # The generated query itself is checked the same way first: when the types or ORDER BY keys
    # the candidates lose are what made it fail, nothing smaller can, and no check is wasted.
    size = tree_size(tree)
    if not still_fails(tree):
        return sign(tree, original, size, size, 1)
    reduction = reduce(tree, still_fails, max_checks=max_checks)
    final = check_tree(oracle, reduction.tree, finding.seed, finding.index)
    if reproduce_key(final) != wanted:  # flaky (a timeout near the limit, say): keep the original
        return sign(tree, original, size, size, reduction.checks + 2)
    return sign(reduction.tree, final, size, reduction.reduced_size, reduction.checks + 2)


def _reduce_database(
    oracle: Oracle, reduced: Reduced, source: GeneratedQueries, deadline: float | None
) -> Reduced:
    """Take away what the reduced query does not need of its database while it still fails
    the same way: the tables and views it does not read, the columns it does not name, the
    indexes, then rows (halves, quarters, ... single rows, per table)."""
    finding = reduced.finding
    database = source.database_of(finding.index)
    wanted = reproduce_key(reduced.check)
    tree = reduced.tree
    checks = 0

    def still_fails(candidate: Database) -> bool:
        nonlocal checks
        if checks >= DEFAULT_MAX_DATABASE_CHECKS:
            return False
        if deadline is not None and time.monotonic() > deadline:
            return False
        checks += 1
        try:
            source.use(candidate)
        except LoadFailed:
            return False
        return reproduce_key(check_tree(oracle, tree, finding.seed, finding.index)) == wanted

    best = database
    read = {t.name.casefold() for t in tree.find_all(exp.Table)}
    named = {c.name.casefold() for c in tree.find_all(exp.Column)}
    needed = set(read)
    for v in database.views:
        if v.name.casefold() in read:
            needed.add(v.table.casefold())
    unused = [
        t.name for t in (*database.tables, *database.views) if t.name.casefold() not in needed
    ]
    if unused and still_fails(candidate := best.without_tables(unused)):
        best = candidate
    for t in best.tables:
        keep = {c.name for c in t.columns if c.name.casefold() in named}
        for v in best.views:  # a view keeps what it reads of its table
            if v.table == t.name:
                keep |= {c.name for c in v.columns} | ({v.where[0]} if v.where else set())
        if (
            keep
            and len(keep) < len(t.columns)
            and still_fails(c2 := best.with_columns(t.name, keep))
        ):
            best = c2
    if best.indexes and still_fails(candidate := best.without_indexes()):
        best = candidate
    for name in [t.name for t in best.tables]:
        best = _fewer_rows(best, name, still_fails)
    final = reduced.check
    if best is not database:
        try:
            source.use(best)
            final = check_tree(oracle, tree, finding.seed, finding.index)
        except LoadFailed:
            final = None
        if final is None or reproduce_key(final) != wanted:  # flaky: keep the whole database
            best, final = database, reduced.check
    return replace(
        reduced,
        check=final,
        checks=reduced.checks + checks,
        database=best,
        original_rows=database.rows,
        dialects=tuple(e.dialect for e in source.engines),
    )


def _fewer_rows(database: Database, table: str, still_fails) -> Database:
    """ddmin over one table's rows: drop chunks (half, then quarters, ...) while it fails."""
    rows = list(database.table(table).rows)
    chunk = max(1, len(rows) // 2)
    while rows:
        start, progressed = 0, False
        while start < len(rows):
            candidate = rows[:start] + rows[start + chunk :]
            if still_fails(database.with_rows(table, candidate)):
                rows, progressed = candidate, True
            else:
                start += chunk
        if chunk == 1 and not progressed:
            break
        chunk = max(1, chunk // 2) if not progressed or chunk > 1 else chunk
    return database.with_rows(table, rows)


def column_types(tree: exp.Expression, schema: Schema) -> str:
    """The sorted set of the types of the schema's columns the query reads ("?" for a column
    of a CTE or derived table), e.g. ``DECIMAL,INT``."""
    tables = {t.name.casefold(): t for t in schema.tables}
    aliases: dict[str, str] = {}
    for node in tree.find_all(exp.Table):
        aliases[node.alias_or_name.casefold()] = node.name.casefold()
    found = set()
    for column in tree.find_all(exp.Column):
        table = tables.get(aliases.get(column.table.casefold(), ""))
        kind = next(
            (c.type.name for c in (table.columns if table else ()) if c.name == column.name), "?"
        )
        found.add(kind)
    return ",".join(sorted(found))


_CONSTANTS = (exp.Literal, exp.Null, exp.Boolean)


def canonical(tree: exp.Expression) -> exp.Expression:
    """The tree as it is signed: a constant select item is one constant, whatever its value or
    type. The reducer leaves the literal of each item's kind (0, '', NULL, FALSE), and which one
    says nothing about the bug (``SELECT NULL FROM t WHERE p`` and ``SELECT 0 FROM t WHERE p``)."""
    tree = tree.copy()
    for select in tree.find_all(exp.Select):
        for item in select.expressions:
            value = item.this if isinstance(item, exp.Alias) else item
            if isinstance(value, _CONSTANTS) and not (
                isinstance(value, exp.Literal) and value.is_number and value.name == "0"
            ):
                value.replace(exp.Literal.number(0))
    return tree


class _Signer:
    def __init__(
        self, finding: FailedCheck, known: Iterable[KnownIssue], schema: Schema | None
    ) -> None:
        self.finding, self.known, self.schema = finding, list(known), schema

    def __call__(
        self,
        tree: exp.Expression | None,
        check: Check,
        original_size: int,
        reduced_size: int,
        checks: int,
    ) -> Reduced:
        finding = self.finding
        shape = query_shape(canonical(tree)) if tree is not None else finding.shape
        if tree is not None and self.schema is not None:
            shape = f"{shape} columns:{column_types(tree, self.schema)}"
        error = check.error or finding.error
        sides = check.sides
        sut_sql = check.sql[sides[0]] if sides else ""
        return Reduced(
            finding=finding,
            tree=tree if tree is not None else exp.Select(),
            check=check,
            original_size=original_size,
            reduced_size=reduced_size,
            checks=checks,
            reduced=reduced_size < original_size,
            shape=shape,
            signature=signature(finding.kind, shape, error),
            error=normalize_error(error),
            known=match_known(self.known, kind=finding.kind, shape=shape, error=error, sql=sut_sql),
        )


# --- what differs, without reducing -----------------------------------------------------------


def _value_class(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return "inf" if math.isinf(value) else "float"
    if isinstance(value, int):
        return "int"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bytes | bytearray | memoryview):
        return "bytes"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, date):
        return "date"
    return type(value).__name__


def difference_key(check: Check) -> str | None:
    """What a finding's difference looks like, from its answers alone (no query run): the kind
    with the refusing sides and the normalized error, or, for rows that differ in content, how
    the differing values differ, column by column: ``NaN>NULL`` (the SUT has NaN where the
    reference has NULL), ``decimal>float``, ``float~`` (floats of other values). A run reduces
    the first finding of each key and puts the later ones in the same group: thousands of
    findings of one difference cost one reduction. None for different row counts: the rows one
    side lacks say little about why (a predicate, a join, a NaN compared), so those are reduced
    or grouped by their query."""
    if check.kind in (Kind.ERROR, Kind.CRASH):
        kind, sides, error = reproduce_key(check)
        return f"{kind.value}|{','.join(sides)}|{error}"
    if check.kind is not Kind.CONTENT or not check.sut_only or not check.ref_only:
        return None
    width = min(len(check.sut_only[0]), len(check.ref_only[0]))
    if any(len(r) != width for r in (*check.sut_only, *check.ref_only)):
        return None
    parts = set()
    for j in range(width):
        # Per column, the values one side has and the other lacks: in a row that differs in
        # one column, the others cancel out.
        sut = Counter(repr(r[j]) for r in check.sut_only)
        ref = Counter(repr(r[j]) for r in check.ref_only)
        if sut == ref:
            continue
        classes = {repr(r[j]): _value_class(r[j]) for r in (*check.sut_only, *check.ref_only)}
        s_classes = "|".join(sorted({classes[v] for v in sut - ref}))
        r_classes = "|".join(sorted({classes[v] for v in ref - sut}))
        parts.add(f"{s_classes}>{r_classes}" if s_classes != r_classes else f"{s_classes}~")
    if not parts:
        return None  # the same values in another order
    return "content|" + ",".join(sorted(parts))
