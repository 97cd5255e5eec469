"""Executing a querygen run (its job): check queries until a budget is spent, reduce, bisect and
group each finding, checkpoint, then record and report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from core import jobs
from core.exceptions import AssayError
from core.models import Engine
from querygen.engine.compare import Kind
from querygen.engine.engines import EngineClient, EngineError, PostgresClient
from querygen.engine.generated import GeneratedQueries
from querygen.engine.generator import QueryGenerator
from querygen.engine.model import Schema, Status
from querygen.engine.oracles import TLP, Check, Differential, NoREC, Oracle, Plan, naming_error
from querygen.engine.pipeline import (
    Reduced,
    bisect_reduced,
    reduce_finding,
)
from querygen.engine.profile import Profile
from querygen.engine.runner import MAX_REFUSED_IN_A_ROW, FailedCheck, QuerySource, RunStats, run
from querygen.engine.schema import common_schema
from querygen.models import Finding, Group, GroupStatus, OracleKind, QuerygenRun
from querygen.services import groups
from querygen.services.engines import EMBEDDED, opened, opened_ladder
from querygen.services.runs.record import COUNT_FIELDS, announce, record_results, report

# Reductions take at most this share of a run's wall time (crashes are always reduced): the
# rest of the findings are grouped by how they differ, and the run keeps testing.
REDUCE_SHARE = 0.5
REDUCE_GRACE_SECONDS = 10.0
CHECKPOINT_SECONDS = 2.0

# --- executing ----------------------------------------------------------------------------------


@dataclass
class _Setup:
    """What a run checks with: its oracle, where its queries come from, and the schema they
    are drawn from (dataset mode; generated mode: each database's own, ``generated``)."""

    oracle: Oracle
    queries: QuerySource
    schema: Schema | None
    generated: GeneratedQueries | None
    ladder: list[tuple[str, EngineClient]] = field(default_factory=list)  # releases to bisect on

    def schema_of(self, index: int) -> Schema | None:
        if self.generated is not None:
            return self.generated.database_of(index).schema
        return self.schema


def setup_checks(
    r: QuerygenRun, sut: EngineClient, ref: EngineClient | None, profile: Profile
) -> _Setup:
    if not profile.generated:
        oracle, schema = _oracle(r, sut, ref, profile)
        dialects = [e.dialect for e in (sut, ref) if e is not None]
        generator = QueryGenerator(schema, profile, seed=r.seed, dialects=dialects)
        return _Setup(oracle, generator, schema, None)
    engines = [e for e in (sut, ref) if e is not None]
    source = GeneratedQueries(engines, profile, seed=r.seed, timeout=r.timeout)
    oracle, _ = _oracle(r, sut, ref, profile, source.database(0).schema)
    use_schema = getattr(oracle, "use_schema", None)
    if use_schema is not None:  # TLP and NoREC draw predicates from each database's tables
        source.on_load.append(lambda database: use_schema(database.schema))
    return _Setup(oracle, source, None, source)


def _oracle(
    r: QuerygenRun,
    sut: EngineClient,
    ref: EngineClient | None,
    profile: Profile,
    schema: Schema | None = None,
) -> tuple:
    """The run's oracle and the schema its queries are drawn from: ``schema``, else the
    engines' catalogs."""
    limits = {"timeout": r.timeout, "max_rows": r.max_rows}
    if r.oracle == OracleKind.DIFFERENTIAL:
        assert ref is not None
        return Differential(sut, ref, **limits), schema or common_schema(sut, ref)
    schema = schema or Schema(tuple(sut.tables()))
    if r.oracle == OracleKind.PLAN:
        return Plan(sut, conninfo=_plan_conninfo(r, sut, profile), **limits), schema
    cls = TLP if r.oracle == OracleKind.TLP else NoREC
    return cls(sut, schema=schema, profile=profile, **limits), schema


def _plan_conninfo(r: QuerygenRun, sut: EngineClient, profile: Profile) -> str | None:
    """Where the plan oracle opens its PostgreSQL connections: the row's database, searching
    the engine's own schema on generated databases (where the engine loads them)."""
    if r.sut.kind != Engine.Kind.POSTGRESQL:
        return None
    if profile.generated and isinstance(sut, PostgresClient):
        return sut.loaded_conninfo()
    return r.sut.conninfo()


class _Beating:
    """The oracle, extending the run's lease between checks (a reduction takes many)."""

    def __init__(self, oracle: Oracle, beat: Any) -> None:
        self.oracle, self.beat, self.name = oracle, beat, oracle.name

    def check(self, query: Any) -> Check:
        self.beat()
        return self.oracle.check(query)


@dataclass
class _Totals:
    """The row's counts when this attempt started (a run picked up again goes on from them)."""

    base: dict[str, float]
    started_index: int

    def fields(self, stats: RunStats) -> dict[str, Any]:
        now = {
            "queries": stats.queries,
            "matches": stats.matches,
            "errors": stats.errors,
            "row_counts": stats.row_counts,
            "contents": stats.contents,
            "crashes": stats.crashes,
            "timeouts": stats.timeouts,
            "too_big": stats.too_big,
            "both_errors": stats.both_errors,
            "skipped": stats.skipped,
            "reference_ok": stats.reference_ok,
            "wall_seconds": stats.wall_seconds,
            "engine_seconds": stats.engine_seconds,
        }
        out: dict[str, Any] = {k: self.base[k] + v for k, v in now.items()}
        out["next_index"] = max(stats.next_index, self.started_index)
        return out


class _Worker:
    """One attempt at a run: the runner's callbacks (findings, progress) and the lease."""

    def __init__(
        self,
        r: QuerygenRun,
        setup: _Setup,
        totals: _Totals,
        deadline: float | None,
    ) -> None:
        self.run = r
        self.setup = setup
        oracle = setup.oracle
        self.deadline = deadline  # the time budget: reductions stop there too
        self.totals = totals
        self.known = groups.known_issues()
        self.oracle = _Beating(oracle, self.beat)
        self.scope = r.scope
        self.reductions = r.finding_rows.filter(reduction_checks__gt=0).count()
        self.by_difference: dict[str, Group] = {}  # this run's groups by difference
        self.started = time.monotonic()
        self.reduce_seconds = 0.0
        self.last_beat = time.monotonic()

    def beat(self) -> None:
        """Extend the lease (counts are checkpointed by progress() only, between queries)."""
        if time.monotonic() - self.last_beat >= CHECKPOINT_SECONDS or jobs.stop_requested():
            self.last_beat = time.monotonic()
            jobs.heartbeat(self.run, self.run.progress_done, None, self.run.progress_message)

    def progress(self, stats: RunStats, force: bool = False) -> None:
        # A stopping worker checkpoints at once: its heartbeat then hands the run back.
        recent = time.monotonic() - self.last_beat < CHECKPOINT_SECONDS
        if not force and recent and not jobs.stop_requested():
            return
        self.last_beat = time.monotonic()
        fields = self.totals.fields(stats)
        r = self.run
        total = r.budget_queries
        message = f"{fields['queries']} queries, {r.finding_rows.count()} findings"
        jobs.heartbeat(r, fields["queries"], total, message, extra=fields)

    def on_finding(self, finding: FailedCheck) -> None:
        """Into its group, by the rule in one place (groups.place_finding); reduced, and
        bisected over the run's ladder, only when the rule asks and the budget allows."""
        groups.place_finding(
            self.run,
            finding,
            self._reduce,
            self.known,
            self.by_difference,
            fence=True,
        )

    def _reduce(self, finding: FailedCheck) -> Reduced | None:
        if not self._may_reduce(finding):
            return None
        started = time.monotonic()
        reduced = reduce_finding(
            self.oracle,
            finding,
            known=self.known,
            schema=self.setup.schema_of(finding.index),
            deadline=self.deadline,
            source=self.setup.generated,
        )
        reduced = bisect_reduced(reduced, self.setup.ladder)
        self.reductions += 1
        self.reduce_seconds += time.monotonic() - started
        return reduced

    def _may_reduce(self, finding: FailedCheck) -> bool:
        if finding.kind is Kind.CRASH:
            return True  # the rarest and most valuable finding: always worth the checks
        if self.reductions >= self.run.max_reductions:
            return False
        elapsed = time.monotonic() - self.started
        return self.reduce_seconds <= REDUCE_SHARE * elapsed + REDUCE_GRACE_SECONDS


def execute_run(r: QuerygenRun) -> dict[str, Any]:
    """The run's job. Returns the fields written with its success state."""
    profile = Profile.from_mapping(r.profile)
    totals = _Totals({k: getattr(r, k) for k in (*COUNT_FIELDS, "wall_seconds", "engine_seconds")},
                     max(r.next_index, r.first_index))  # fmt: skip
    if r.next_index > r.first_index:
        r.log(f"going on from query {r.next_index} ({r.queries} checked before)")
    engines_opened = False
    try:
        with (
            opened(r.sut, r.reference, r.sut_python, memory=profile.generated) as (sut, ref),
            opened_ladder(r.sut, list(r.ladder or [])) as ladder,
        ):
            engines_opened = True
            versions = {"sut_version": sut.version()[:200]}
            if ref is not None:
                versions["reference_version"] = ref.version()[:200]
            type(r).objects.filter(pk=r.pk).update(**versions)
            for key, value in versions.items():
                setattr(r, key, value)
            setup = setup_checks(r, sut, ref, profile)
            setup.ladder = ladder
            if ladder:
                r.log("ladder: " + ", ".join(name for name, _ in ladder))
            if setup.schema is not None:
                tables = f"{len(setup.schema.tables)} tables"
            else:
                tables = f"a new database every {setup.generated.settings.queries} queries"
            r.log(f"{r.scope}: seed {r.seed}, {tables}; {setup.oracle.name}")
            done_queries = int(totals.base["queries"])
            budget_q = None if r.budget_queries is None else max(0, r.budget_queries - done_queries)
            budget_s = (
                None
                if r.budget_seconds is None
                else max(0.0, r.budget_seconds - totals.base["wall_seconds"])
            )
            deadline = None if budget_s is None else time.monotonic() + budget_s
            worker = _Worker(r, setup, totals, deadline)
            stats = run(
                worker.oracle,
                setup.queries,
                first_index=totals.started_index,
                budget_queries=budget_q,
                budget_seconds=budget_s,
                on_finding=worker.on_finding,
                progress=worker.progress,
            )
            worker.progress(stats, force=True)
            if stats.stopped_by == "refusals":  # another attempt would be refused the same
                raise jobs.JobFailed(
                    f"{r.scope}: {stats.refused_databases} generated databases refused, the "
                    f"last {MAX_REFUSED_IN_A_ROW} in a row; the first: {stats.refusals[0]}"
                )
            if stats.stopped_by == "unbuilt":
                first = stats.unbuilt_reasons[0]
                raise jobs.JobFailed(
                    f"{r.scope}: querygen could not generate {MAX_REFUSED_IN_A_ROW} queries in "
                    f"a row (a bug of querygen's; its traceback is in the log); the first: "
                    f"{first.splitlines()[0]}"
                )
    except EngineError as exc:
        if not engines_opened and _files_only(r):
            # A file an engine cannot open (another release's storage format, not a database)
            # fails the same way on every attempt: fail once, with the reason.
            raise jobs.JobFailed(f"{r.scope}: {exc}") from exc
        raise AssayError(f"{r.scope}: {exc}", code="engine_error") from exc
    except ValueError as exc:  # no common table, a bad profile written past the API
        raise AssayError(f"{r.scope}: {exc}", code="bad_run") from exc
    fields = totals.fields(stats)
    fields.update(_finding_counts(r))
    for key, value in fields.items():
        setattr(r, key, value)
    r.log(stats.summary())
    for refusal in stats.refusals:
        r.log(f"  {refusal[:500]}")
    for reason in stats.unbuilt_reasons:  # a bug of querygen's: the traceback, for a report
        r.log(f"  could not generate {reason[:3000]}")
    fields["results_run"] = r.results_run = record_results(r)
    fields["report"] = r.report = report(r)
    announce(r)
    return fields


def named_by(finding: Finding) -> str:
    """The recorded error the finding was named by. Its results (a list, in side order) say
    which side failed how; a finding kept without them has only its errors."""
    if finding.results:
        failures = ((Status(r["status"]), r.get("error", "")) for r in finding.results)
        return naming_error(Kind(finding.kind), failures)
    return next(iter(finding.errors.values()), "")


def _files_only(r: QuerygenRun) -> bool:
    """Whether every engine of the run is a database file (a server may come back)."""
    return all(e.kind in EMBEDDED for e in (r.sut, r.reference) if e is not None)


def _finding_counts(r: QuerygenRun) -> dict[str, int]:
    rows = r.finding_rows
    return {
        "findings": rows.count(),
        "silenced": rows.filter(group__status=GroupStatus.IGNORED).count(),
        "reductions": rows.filter(reduction_checks__gt=0).count(),
    }
