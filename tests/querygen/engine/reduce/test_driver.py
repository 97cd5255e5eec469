"""reduce(): shrinking failing queries while they fail, on synthetic oracles and on real
differences between DuckDB and SQLite found by the generator; the contract of the loop."""

from __future__ import annotations

import collections
import hashlib
import statistics
from pathlib import Path

import pytest
from sqlglot import exp

from querygen.engine.compare import Kind, Side, compare
from querygen.engine.engines import DuckDBClient, SQLiteClient
from querygen.engine.generator import QueryGenerator
from querygen.engine.model import Status
from querygen.engine.profile import Profile
from querygen.engine.reduce import Reduction, reduce, tree_size
from querygen.engine.schema import common_schema
from querygen.engine.shape import query_shape
from querygen.engine.signature import normalize_error, signature
from tests.querygen.engine.reduce.helpers import SCHEMA, Recorder, parse


def likes_strings(tree: exp.Expression) -> bool:
    """The query holds ``<strings column> LIKE <a pattern>``."""
    aliases = {t.alias_or_name for t in tree.find_all(exp.Table) if t.name == "strings"}
    return any(
        isinstance(like.this, exp.Column) and like.this.table in aliases
        for like in tree.find_all(exp.Like)
    )


# --- synthetic oracles ---------------------------------------------------------------------------


def test_a_synthetic_failure_reduces_to_a_tiny_query_that_runs(
    querygen_sqlite: Path, querygen_duckdb: Path
) -> None:
    generator = QueryGenerator(SCHEMA, seed=4)
    trees = [generator.query(i).tree for i in range(800)]
    large = [t for t in trees if likes_strings(t) and tree_size(t) >= 100]
    assert len(large) >= 2  # seed 4 holds four (116 to 170 nodes)
    with SQLiteClient(querygen_sqlite) as lite, DuckDBClient(querygen_duckdb) as duck:
        for tree in large:
            result = reduce(tree, likes_strings)
            assert likes_strings(result.tree)
            assert result.original_size == tree_size(tree)
            assert result.reduced_size == tree_size(result.tree)
            assert result.reduced_size * 3 <= result.original_size
            assert result.reduced_size <= 20, result.tree.sql()
            # e.g. SELECT 0 AS c2 FROM strings AS t1 WHERE t1."body" LIKE ''
            for engine in (lite, duck):
                outcome = engine.execute(result.tree.sql(dialect=engine.dialect), timeout=5)
                # run, not refused: a join on one side's LIKE alone (no other condition) may
                # reduce to a cross product past the row limit
                assert outcome.status in (Status.OK, Status.TOO_BIG), (
                    engine.dialect,
                    outcome.error,
                )


# --- the contract ------------------------------------------------------------------------------


def test_the_input_is_never_mutated_and_the_oracle_may_keep_or_change_candidates() -> None:
    tree = QueryGenerator(SCHEMA, seed=6).query(49).tree
    before_sql, before_repr = tree.sql(), repr(tree)
    kept: list[exp.Expression] = []

    def vandal(candidate: exp.Expression) -> bool:
        kept.append(candidate)
        answer = likes_strings(candidate)
        for node in list(candidate.find_all(exp.Where)):
            node.pop()  # what the oracle does to its copy must not matter
        return answer

    result = reduce(tree, vandal)
    assert tree.sql() == before_sql and repr(tree) == before_repr
    assert result.tree.sql() == reduce(tree, likes_strings).tree.sql()
    assert all(c is not result.tree for c in kept)


def test_reduction_is_deterministic() -> None:
    first = reduce(QueryGenerator(SCHEMA, seed=6).query(707).tree, likes_strings)
    again = reduce(QueryGenerator(SCHEMA, seed=6).query(707).tree, likes_strings)
    assert (first.tree.sql(), first.checks, first.reduced_size) == (
        again.tree.sql(),
        again.checks,
        again.reduced_size,
    )
    noisy = [
        reduce(
            QueryGenerator(SCHEMA, seed=3).query(i).tree,
            lambda c: hashlib.sha256(c.sql().encode()).digest()[0] % 2 == 0,
            max_checks=60,
        ).tree.sql()
        for i in range(10)
    ]
    assert noisy == [
        reduce(
            QueryGenerator(SCHEMA, seed=3).query(i).tree,
            lambda c: hashlib.sha256(c.sql().encode()).digest()[0] % 2 == 0,
            max_checks=60,
        ).tree.sql()
        for i in range(10)
    ]


@pytest.mark.parametrize("max_checks", [0, 1, 7, 40])
def test_max_checks_is_respected(max_checks: int) -> None:
    tree = QueryGenerator(SCHEMA, seed=6).query(49).tree
    oracle = Recorder(lambda c: hashlib.sha256(c.sql().encode()).digest()[0] % 4 == 0)
    result = reduce(tree, oracle, max_checks=max_checks)
    assert result.checks == len(oracle.candidates) == max_checks
    if max_checks == 0:
        assert result.tree is not tree and result.tree.sql() == tree.sql()
        assert result.reduced_size == result.original_size


def test_an_oracle_that_always_fails_leaves_the_smallest_query() -> None:
    tree = QueryGenerator(SCHEMA, seed=6).query(295).tree
    result = reduce(tree, lambda c: True)
    # one literal from one table, e.g. SELECT 0 FROM empty AS t4 (a subquery's, hoisted)
    assert result.reduced_size <= 8, result.tree.sql()
    assert result.checks < 50


def test_a_query_that_cannot_shrink_comes_back_whole() -> None:
    tree = parse("SELECT 1")
    result = reduce(tree, lambda c: False)
    assert result == Reduction(result.tree, 2, 2, result.checks)
    assert result.tree.sql() == "SELECT 1"
    with pytest.raises(ValueError, match="max_checks"):
        reduce(tree, lambda c: True, max_checks=-1)


# --- real differences between DuckDB and SQLite -------------------------------------------------

# Two tables at most, no cross joins, no subqueries: what SQLite runs well within a second, so
# that a few hundred checks fit the test's time.
REAL_PROFILE = Profile(
    max_tables=2,
    join_weights={"inner": 4, "left": 3, "right": 1, "full": 1, "cross": 0},
    subqueries=False,
)
SCAN_INDEXES = 150
WANTED_FINDINGS = 12
MAX_CHECKS = 300

Verdict = tuple[Kind, Side | None, str]


def order_keys(tree: exp.Expression) -> list[int] | None:
    order = tree.args.get("order")
    if not isinstance(order, exp.Order):
        return None
    keys = [o.this for o in order.expressions]
    if all(isinstance(k, exp.Literal) and k.is_int for k in keys):
        return [int(k.name) - 1 for k in keys]
    return None


class Oracle:
    """DuckDB (the system under test) against SQLite (the reference) on one query: the kind of
    the comparison, and for refusals and crashes the side and the normalized error."""

    def __init__(self, duck: DuckDBClient, lite: SQLiteClient) -> None:
        self.duck, self.lite = duck, lite

    def error(self, tree: exp.Expression) -> str:
        return self.run(tree)[1]

    def verdict(self, tree: exp.Expression) -> Verdict:
        return self.run(tree)[0]

    def run(self, tree: exp.Expression) -> tuple[Verdict, str]:
        sut = self.duck.execute(tree.sql(dialect="duckdb"), timeout=1, max_rows=5000)
        ref = self.lite.execute(tree.sql(dialect="sqlite"), timeout=1, max_rows=5000)
        c = compare(sut, ref, order_keys=order_keys(tree))
        if c.kind not in (Kind.ERROR, Kind.CRASH):
            return (c.kind, None, ""), ""
        error = c.sut_error if c.side is Side.SUT else c.ref_error
        return (c.kind, c.side, normalize_error(error)), error


def test_real_engine_differences_reduce_and_group(
    querygen_sqlite: Path, querygen_duckdb: Path
) -> None:
    with SQLiteClient(querygen_sqlite) as lite, DuckDBClient(querygen_duckdb) as duck:
        oracle = Oracle(duck, lite)
        generator = QueryGenerator(
            common_schema(duck, lite), REAL_PROFILE, seed=1, dialects=(duck.dialect, lite.dialect)
        )
        findings: list[tuple[int, exp.Expression, Verdict]] = []
        for index in range(SCAN_INDEXES):
            tree = generator.query(index).tree
            verdict = oracle.verdict(tree)
            if verdict[0].finding:
                findings.append((index, tree, verdict))
                if len(findings) == WANTED_FINDINGS:
                    break
        assert len(findings) >= 8, findings

        ratios = []
        groups: dict[str, list[tuple[int, Reduction, Verdict]]] = collections.defaultdict(list)
        for index, tree, verdict in findings:
            result = reduce(
                tree, lambda c, v=verdict: oracle.verdict(c) == v, max_checks=MAX_CHECKS
            )
            assert result.checks <= MAX_CHECKS
            again, error = oracle.run(result.tree)
            assert again == verdict, (index, result.tree.sql())  # still reproduces
            ratios.append(result.reduced_size / result.original_size)
            groups[signature(verdict[0], query_shape(result.tree), error)].append(
                (index, result, verdict)
            )

        median = statistics.median(ratios)
        print(f"\n{len(findings)} findings, median reduced/original size {median:.2f}")
        for sig, members in groups.items():
            index, result, verdict = members[0]
            print(
                f"{sig} {verdict[0].value:9} x{len(members):<2} {result.tree.sql(dialect='duckdb')}"
            )
        assert median <= 1 / 3
        assert len(groups) <= len(findings) // 2  # many findings, few bugs
        assert {v[0] for _, _, v in findings} & {Kind.CONTENT, Kind.ROW_COUNT}
