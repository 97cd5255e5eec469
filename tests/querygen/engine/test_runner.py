"""The runner: budgets in queries and seconds, stats that add up, findings with what it takes
to replay and group them, known issues that label or silence, and resuming where a run ended."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from querygen.engine.compare import Kind
from querygen.engine.engines import DuckDBClient, SQLiteClient
from querygen.engine.generator import Query, QueryGenerator
from querygen.engine.model import Outcome, Schema, Status
from querygen.engine.oracles import Check, Differential
from querygen.engine.profile import Profile
from querygen.engine.runner import FailedCheck, RunStats, replay, run
from querygen.engine.schema import common_schema
from querygen.engine.signature import KnownIssue
from tests.querygen.conftest import QUERYGEN_TABLES

SCHEMA = Schema(tuple(QUERYGEN_TABLES))
LIGHT = Profile(max_tables=2, p_subquery=0.1, p_scalar_subquery=0.02)
SCRIPT = [Kind.MATCH, Kind.CONTENT, Kind.MATCH, Kind.BOTH_ERROR, Kind.ERROR, Kind.TIMEOUT,
          Kind.ROW_COUNT, Kind.TOO_BIG, Kind.CRASH, Kind.MATCH]  # fmt: skip


class ScriptedOracle:
    """Test double at the oracle boundary: answers the kind SCRIPT gives for the query's
    index, with error texts and engine time as an oracle would, and runs nothing."""

    name = "scripted"

    def __init__(self, seconds: float = 0.001) -> None:
        self.seconds = seconds
        self.checked: list[int] = []

    def check(self, query: Query) -> Check:
        self.checked.append(query.index)
        kind = SCRIPT[query.index % len(SCRIPT)]
        sut_status = {
            Kind.ERROR: Status.ERROR,
            Kind.BOTH_ERROR: Status.ERROR,
            Kind.CRASH: Status.CRASH,
            Kind.TIMEOUT: Status.TIMEOUT,
            Kind.TOO_BIG: Status.TOO_BIG,
        }.get(kind, Status.OK)
        error = (
            f"Out of Range Error: overflow in row {query.index}" if sut_status != Status.OK else ""
        )
        ref_status = Status.ERROR if kind is Kind.BOTH_ERROR else Status.OK
        return Check(
            kind=kind,
            sql={"sut": query.tree.sql(dialect="duckdb"), "ref": query.tree.sql(dialect="sqlite")},
            outcomes={
                "sut": Outcome(sut_status, error=error),
                "ref": Outcome(
                    ref_status, error="no such thing" if ref_status != Status.OK else ""
                ),
            },
            detail=f"scripted {kind.value}",
            seconds_in_engines=self.seconds,
            tree=query.tree,
        )


def test_stats_add_up_and_every_finding_is_reported_once() -> None:
    generator = QueryGenerator(SCHEMA, seed=4)
    findings: list[FailedCheck] = []
    seen: list[int] = []
    stats = run(
        ScriptedOracle(), generator, budget_queries=25, budget_seconds=None,
        on_finding=findings.append, progress=lambda s: seen.append(s.queries),
    )  # fmt: skip
    assert stats.queries == 25 == sum(stats.kinds.values())
    assert seen == list(range(1, 26))
    expected = [SCRIPT[i % len(SCRIPT)] for i in range(25)]
    assert stats.kinds == {k: expected.count(k) for k in set(expected)}
    assert stats.matches + stats.both_errors + stats.errors + stats.row_counts + stats.contents \
        + stats.crashes + stats.timeouts + stats.too_big == stats.queries  # fmt: skip
    assert [f.index for f in findings] == [i for i, k in enumerate(expected) if k.finding]
    assert stats.findings == len(findings) == sum(stats.signatures.values())
    assert stats.reference_ok == sum(k is not Kind.BOTH_ERROR for k in expected)
    assert 0 < stats.reference_ok_share < 1
    assert (stats.first_index, stats.next_index, stats.stopped_by) == (0, 25, "queries")


def test_a_finding_carries_seed_index_sql_errors_shape_and_signature() -> None:
    generator = QueryGenerator(SCHEMA, seed=4)
    findings: list[FailedCheck] = []
    run(ScriptedOracle(), generator, budget_queries=10, budget_seconds=None,
        on_finding=findings.append)  # fmt: skip
    error = next(f for f in findings if f.kind is Kind.ERROR)
    assert (error.seed, error.index) == (4, 4)
    assert error.sql["sut"] == generator.query(4).tree.sql(dialect="duckdb")
    assert error.errors == {"sut": "Out of Range Error: overflow in row 4"}
    assert error.error == "Out of Range Error: overflow in row 4"
    assert error.shape.startswith(("Select", "Union", "Intersect", "Except"))
    assert len(error.signature) == 16 and error.known is None
    content = next(f for f in findings if f.kind is Kind.CONTENT)
    assert content.errors == {} and content.signature != error.signature


def test_known_issues_label_or_silence_findings() -> None:
    generator = QueryGenerator(SCHEMA, seed=4)
    overflow = KnownIssue(r"Out of Range Error", "https://example.org/issues/1", "label")
    crash = KnownIssue(r"^crash\n", "https://example.org/issues/2", "silence")
    findings: list[FailedCheck] = []
    stats = run(
        ScriptedOracle(), generator, budget_queries=10, budget_seconds=None,
        known=[crash, overflow], on_finding=findings.append,
    )  # fmt: skip
    kinds = {f.kind: f for f in findings}
    assert Kind.CRASH not in kinds  # silenced: counted, not reported
    assert stats.silenced == 1 and stats.kinds[Kind.CRASH] == 1
    assert kinds[Kind.ERROR].known is overflow
    assert kinds[Kind.CONTENT].known is None
    assert stats.labelled == 1
    assert stats.findings + stats.silenced == sum(stats.signatures.values())


def test_budgets() -> None:
    generator = QueryGenerator(SCHEMA, seed=4)
    with pytest.raises(ValueError, match="needs a budget"):
        run(ScriptedOracle(), generator, budget_queries=None, budget_seconds=None)
    with pytest.raises(ValueError, match="budget_queries"):
        run(ScriptedOracle(), generator, budget_queries=-1, budget_seconds=None)
    assert run(ScriptedOracle(), generator, budget_queries=0, budget_seconds=None).queries == 0
    nothing = run(ScriptedOracle(), generator, budget_queries=None, budget_seconds=0)
    assert (nothing.queries, nothing.stopped_by) == (0, "seconds")
    # a time budget alone ends the run (how soon is not asserted)
    stats = run(ScriptedOracle(), generator, budget_queries=None, budget_seconds=0.2)
    assert stats.stopped_by == "seconds" and stats.queries >= 1
    both = run(ScriptedOracle(), generator, budget_queries=3, budget_seconds=3600)
    assert (both.queries, both.stopped_by) == (3, "queries")


def test_a_run_resumes_where_the_last_one_ended() -> None:
    generator = QueryGenerator(SCHEMA, seed=4)
    oracle = ScriptedOracle()
    first = run(oracle, generator, budget_queries=7, budget_seconds=None)
    second = run(oracle, generator, first_index=first.next_index, budget_queries=5,
                 budget_seconds=None)  # fmt: skip
    assert oracle.checked == list(range(12))
    assert (second.first_index, second.next_index) == (7, 12)


class _Broken:
    """A query source with a bug of querygen's own at some indexes."""

    def __init__(self, broken) -> None:
        self.inner = QueryGenerator(SCHEMA, LIGHT, seed=3)
        self.broken = broken

    def query(self, index: int) -> Query:
        if self.broken(index):
            raise TypeError(f"no query {index}")
        return self.inner.query(index)


def test_a_query_the_generator_cannot_make_is_skipped_counted_and_kept_for_the_log() -> None:
    oracle = ScriptedOracle()
    stats = run(oracle, _Broken(lambda i: i == 3), budget_queries=6, budget_seconds=None)
    assert stats.queries == 6 and stats.unbuilt == 1 and 3 not in oracle.checked
    assert oracle.checked == [0, 1, 2, 4, 5, 6] and stats.next_index == 7
    assert stats.unbuilt_reasons[0].startswith("query 3: TypeError: no query 3")
    assert "1 queries could not be generated" in stats.summary()
    # Nothing builds: the run stops rather than spin through a budget in queries.
    stats = run(ScriptedOracle(), _Broken(lambda i: True), budget_queries=5, budget_seconds=None)
    assert stats.stopped_by == "unbuilt" and stats.queries == 0 and stats.unbuilt == 20
    assert "Traceback" in stats.unbuilt_reasons[0] and len(stats.unbuilt_reasons) == 5


def test_overhead_share_is_the_time_outside_the_engines() -> None:
    stats = RunStats(wall_seconds=2.0, engine_seconds=1.5)
    assert stats.overhead_share == pytest.approx(0.25)
    assert RunStats().overhead_share == 0.0
    # engine time measured a little past the wall time never gives a negative share
    assert RunStats(wall_seconds=1.0, engine_seconds=1.01).overhead_share == 0.0


@pytest.fixture(scope="module")
def engines(
    querygen_duckdb: Path, querygen_sqlite: Path
) -> Iterator[tuple[DuckDBClient, SQLiteClient]]:
    with DuckDBClient(querygen_duckdb) as duck, SQLiteClient(querygen_sqlite) as lite:
        yield duck, lite


def test_a_differential_run_on_the_fixtures(engines) -> None:
    duck, lite = engines
    generator = QueryGenerator(common_schema(duck, lite), LIGHT, seed=2)
    oracle = Differential(duck, lite, timeout=1)
    findings: list[FailedCheck] = []
    stats = run(oracle, generator, budget_queries=30, budget_seconds=None,
                on_finding=findings.append)  # fmt: skip
    assert stats.queries == 30 == sum(stats.kinds.values())
    assert 0 < stats.overhead_share < 1
    assert 0 < stats.engine_seconds < stats.wall_seconds
    assert stats.reference_ok_share > 0.5, stats.summary()
    assert stats.findings == len(findings)
    for finding in findings[:2]:
        assert replay(oracle, generator, finding.index).verdict() == finding.check.verdict()
