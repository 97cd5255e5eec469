"""A querygen run's life: submit (validate everything; nothing is created on bad input), execute
(check queries until a budget is spent, reduce and group each finding), record in results, report.
Pairs are started by a schedule; a finding replays from its seed."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlglot
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from sqlglot.errors import SqlglotError

from core import jobs
from core.engines import get_engine
from core.exceptions import AssayError
from core.models import Engine, JobState
from querygen.engine.compare import Kind
from querygen.engine.engines import Engine as QEngine
from querygen.engine.engines import EngineError
from querygen.engine.generated import GeneratedQueries, LoadFailed
from querygen.engine.generator import QueryGenerator
from querygen.engine.model import Schema, Status
from querygen.engine.oracles import TLP, Check, Differential, NoREC, Oracle, Plan, naming_error
from querygen.engine.pipeline import (
    bisect_reduced,
    check_tree,
    difference_key,
    reduce_finding,
    reproduce_key,
)
from querygen.engine.profile import Profile
from querygen.engine.runner import Finding as EngineFinding
from querygen.engine.runner import QuerySource, RunStats, run
from querygen.engine.schema import common_schema
from querygen.engine.signature import normalize_error
from querygen.models import Finding, Group, GroupStatus, OracleKind, Pair, QuerygenRun
from querygen.services import groups
from querygen.services.engines import EMBEDDED, check_python, opened, opened_ladder
from results.services import ImportDefaults, ParsedResult, delete_runs, find_runs, record_run
from results.services.notify import notify_contacts

log = logging.getLogger(__name__)

MAX_SEED = 2**63 - 1
MAX_BUDGET_QUERIES = 100_000_000
MAX_BUDGET_SECONDS = 7 * 24 * 3600  # and at most the django-q task timeout (see build_run)
MAX_TIMEOUT = 600.0
MAX_ROWS = 1_000_000
MAX_REDUCTIONS = 10_000
DEFAULT_MAX_REDUCTIONS = 500
# Reductions take at most this share of a run's wall time (crashes are always reduced): the
# rest of the findings are grouped by how they differ, and the run keeps testing.
REDUCE_SHARE = 0.5
REDUCE_GRACE_SECONDS = 10.0
CHECKPOINT_SECONDS = 2.0
PENDING = (JobState.QUEUED, JobState.RUNNING)
COUNT_FIELDS = (
    "queries",
    "matches",
    "errors",
    "row_counts",
    "contents",
    "crashes",
    "timeouts",
    "too_big",
    "both_errors",
    "skipped",
    "reference_ok",
)

# --- submitting ---------------------------------------------------------------------------------


def _engine(value: str | Engine | None, role: str, *, generated: bool = False) -> Engine | None:
    if value is None or value == "":
        return None
    engine = value if isinstance(value, Engine) else get_engine(str(value), role)
    if generated and engine.kind not in EMBEDDED:
        raise AssayError(
            f"The {role} {engine.name} is {engine.get_kind_display()}: querygen's own databases "
            'run on SQLite and DuckDB. Test it on its tables with the profile {"data": '
            '"dataset"}.',
            code="bad_profile",
        )
    if engine.kind in EMBEDDED and not generated and not _exists(engine.path):
        raise AssayError(
            f"The {role} {engine.name}: its database file {engine.path} does not exist.",
            code="engine_missing",
        )
    if engine.kind == Engine.Kind.POSTGRESQL:
        engine.password()  # a missing secret is the submitter's error, not a failed job
    return engine


def _exists(path: str) -> bool:
    return bool(path) and Path(path).is_file()


def _whole(value: Any, name: str, low: int, high: int, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise AssayError(f"{name}: a whole number from {low} to {high}.", code=f"bad_{name}")
    return value


MAX_LADDER = 30


def _ladder(value: Any, sut: Engine, oracle: str, generated: bool) -> list[str]:
    """A ladder of releases: interpreters, as a private build's (check_python)."""
    if not value:
        return []
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise AssayError("ladder: a list of interpreter paths, oldest first.", code="bad_ladder")
    if len(value) > MAX_LADDER:
        raise AssayError(f"ladder: at most {MAX_LADDER} releases.", code="bad_ladder")
    if not generated or oracle != OracleKind.DIFFERENTIAL:
        raise AssayError(
            "ladder: releases are bisected on generated databases with the differential oracle.",
            code="bad_ladder",
        )
    return [check_python(p, sut) for p in value]


def build_run(
    *,
    sut: str | Engine,
    reference: str | Engine | None = None,
    oracle: str = OracleKind.DIFFERENTIAL,
    sut_python: str = "",
    ladder: list[str] | None = None,
    profile: dict[str, Any] | None = None,
    budget_queries: int | None = None,
    budget_seconds: int | None = None,
    timeout: float = 2.0,
    max_rows: int = 10_000,
    seed: int | None = None,
    max_reductions: int = DEFAULT_MAX_REDUCTIONS,
    label: str = "",
    pair: Pair | None = None,
) -> QuerygenRun:
    """A validated, unsaved run; AssayError names what is wrong."""
    if oracle not in OracleKind.values:
        raise AssayError(
            f"Unknown oracle {oracle!r}: one of {', '.join(OracleKind.values)}.", code="bad_oracle"
        )
    try:
        generated = Profile.from_mapping(profile or {}).generated
    except ValueError as exc:
        raise AssayError(str(exc), code="bad_profile") from None
    sut_engine = _engine(sut, "system under test", generated=generated)
    if sut_engine is None:
        raise AssayError("A run needs a system under test (an engine's name).", code="sut_required")
    ref_engine = _engine(reference, "reference", generated=generated)
    if oracle == OracleKind.DIFFERENTIAL and ref_engine is None:
        raise AssayError(
            "The differential oracle needs a reference engine; TLP, NoREC and plan test one "
            "engine.",
            code="reference_required",
        )
    if oracle != OracleKind.DIFFERENTIAL and ref_engine is not None:
        raise AssayError(
            f"The {oracle} oracle tests one engine: give no reference.", code="reference_unused"
        )
    if oracle == OracleKind.PLAN and sut_engine.kind == Engine.Kind.SQLITE:
        raise AssayError(
            f"The plan oracle needs DuckDB or PostgreSQL: {sut_engine.name} is SQLite, whose "
            "optimizer cannot be switched off.",
            code="oracle_unsupported",
        )
    python = check_python(sut_python or "", sut_engine)
    pythons = _ladder(ladder, sut_engine, oracle, generated)
    _whole(budget_queries, "budget_queries", 1, MAX_BUDGET_QUERIES, optional=True)
    # A run is one django-q task: past the task timeout its worker is killed (the run would
    # go on from its checkpoint in another attempt, but the attempts would run out).
    longest = min(MAX_BUDGET_SECONDS, max(60, settings.Q_TIMEOUT - 120))
    _whole(budget_seconds, "budget_seconds", 1, longest, optional=True)
    if budget_queries is None and budget_seconds is None:
        raise AssayError(
            "A run needs a budget: budget_queries, budget_seconds or both.", code="budget_required"
        )
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise AssayError("timeout: seconds, a number.", code="bad_timeout")
    # A check runs the query on two engines (a private build gets a grace period on top)
    # between two extensions of the run's lease: both must fit in one lease.
    longest_query = min(MAX_TIMEOUT, max(1.0, (settings.ASSAY_JOB_LEASE_SECONDS - 30) / 2 - 5))
    if not 0.01 <= timeout <= longest_query:
        raise AssayError(
            f"timeout: from 0.01 to {longest_query:g} seconds (half a job lease, "
            "ASSAY_JOB_LEASE_SECONDS).",
            code="bad_timeout",
        )
    _whole(max_rows, "max_rows", 1, MAX_ROWS)
    _whole(max_reductions, "max_reductions", 0, MAX_REDUCTIONS)
    if seed is None:
        seed = secrets.randbelow(2**31)
    _whole(seed, "seed", 0, MAX_SEED)
    return QuerygenRun(
        pair=pair,
        label=(label or "")[:100],
        sut=sut_engine,
        reference=ref_engine,
        oracle=oracle,
        sut_python=python,
        ladder=pythons,
        profile=profile or {},
        budget_queries=budget_queries,
        budget_seconds=budget_seconds,
        timeout=float(timeout),
        max_rows=max_rows,
        seed=seed,
        max_reductions=max_reductions,
    )


def submit_run(**options: Any) -> QuerygenRun:
    """Create the run and queue it; raises AssayError (nothing created) on bad input."""
    return jobs.submit(build_run(**options))


# --- executing ----------------------------------------------------------------------------------


@dataclass
class _Setup:
    """What a run checks with: its oracle, where its queries come from, and the schema they
    are drawn from (dataset mode; generated mode: each database's own, ``generated``)."""

    oracle: Oracle
    queries: QuerySource
    schema: Schema | None
    generated: GeneratedQueries | None
    ladder: list[tuple[str, QEngine]] = field(default_factory=list)  # releases to bisect on

    def schema_of(self, index: int) -> Schema | None:
        if self.generated is not None:
            return self.generated.database_of(index).schema
        return self.schema


def _setup(r: QuerygenRun, sut: QEngine, ref: QEngine | None, profile: Profile) -> _Setup:
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
    sut: QEngine,
    ref: QEngine | None,
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
        server = r.sut.kind == Engine.Kind.POSTGRESQL
        return Plan(sut, conninfo=r.sut.conninfo() if server else None, **limits), schema
    cls = TLP if r.oracle == OracleKind.TLP else NoREC
    return cls(sut, schema=schema, profile=profile, **limits), schema


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
        if time.monotonic() - self.last_beat >= CHECKPOINT_SECONDS:
            self.last_beat = time.monotonic()
            jobs.heartbeat(self.run, self.run.progress_done, None, self.run.progress_message)

    def progress(self, stats: RunStats, force: bool = False) -> None:
        if not force and time.monotonic() - self.last_beat < CHECKPOINT_SECONDS:
            return
        self.last_beat = time.monotonic()
        fields = self.totals.fields(stats)
        r = self.run
        total = r.budget_queries
        message = f"{fields['queries']} queries, {r.finding_rows.count()} findings"
        jobs.heartbeat(r, fields["queries"], total, message, extra=fields)

    def on_finding(self, finding: EngineFinding) -> None:
        """Reduce the finding, or put it with others like it without a reduction: a query seen
        before goes to its group; the first finding of a difference (pipeline.difference_key)
        in this run is reduced, later ones join its group; past the run's reduction budget a
        difference seen in an earlier run joins that run's group, anything else is grouped by
        its query as generated."""
        if Finding.objects.filter(run=self.run, index=finding.index).exists():
            return  # checked again after a crash: recorded the first time
        group = groups.group_of_query(self.scope, finding.signature)
        difference = difference_key(finding.check)
        if group is None and difference is not None:
            group = self.by_difference.get(difference)
        reduced = None
        if group is None and self._may_reduce(finding):
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
        if group is None and reduced is None and difference is not None:
            group = groups.group_of_difference(self.scope, difference)
        row = groups.record_finding(
            self.run, finding, reduced, group, self.known, difference=difference, fence=True
        )
        if row is not None and difference is not None:
            self.by_difference.setdefault(difference, row.group)

    def _may_reduce(self, finding: EngineFinding) -> bool:
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
            setup = _setup(r, sut, ref, profile)
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
    fields["results_run"] = r.results_run = record_results(r)
    fields["report"] = r.report = report(r)
    announce(r)
    return fields


def _named_by(finding: Finding) -> str:
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


# --- results and the report -----------------------------------------------------------------------


def results_run_name(r: QuerygenRun) -> str:
    # The prefix is per pair, so a run compares with the previous run of its pair.
    name = r.pair.name if r.pair is not None else "custom"
    return f"querygen-{name.replace('_', '-')}_{r.pk}"


def run_groups(r: QuerygenRun):
    """The groups this run's findings went to, with how many each."""
    return (
        Group.objects.filter(samples__run=r)
        .annotate(in_run=Count("samples", filter=Q(samples__run=r)))
        .order_by("status", "-in_run", "pk")
    )


def _url(name: str, *args: Any) -> str:
    return settings.ASSAY_BASE_URL + reverse(name, args=args)


def record_results(r: QuerygenRun) -> str:
    """One test per group the run saw (new: F; known: k; ignored: left out) and a passing
    summary, as results run querygen-<pair>_<run id>. Recorded afresh if done before."""
    name = results_run_name(r)
    base = f"querygen.{(r.pair.name if r.pair else 'custom').replace('.', '-')}"
    now = timezone.now()
    common = {"test_run": name, "project": "querygen", "start_time": r.started_at, "end_time": now}
    out = [
        ParsedResult(
            test_name=f"{base}.summary",
            status="P",
            log=f"{r.scope}, seed {r.seed}: {r.queries} queries, {r.findings} findings",
            tra={k: str(getattr(r, k)) for k in (*COUNT_FIELDS, "findings", "seed")},
            **common,
        )
    ]
    for group in run_groups(r):
        if group.status == GroupStatus.IGNORED:
            continue
        sample = group.samples.filter(run=r).first()
        sql = next(iter((sample.reduced_sql or sample.sql).values()), "") if sample else ""
        link = f"\nbug report: {group.link}" if group.link else ""
        out.append(
            ParsedResult(
                test_name=f"{base}.groups.{group.signature}",
                status="k" if group.status == GroupStatus.KNOWN else "F",
                log=f"{group.title}\n{sql}\n{_url('querygen:group-detail', group.pk)}{link}",
                tra={"findings": str(group.in_run), "kind": group.kind, "status": group.status},
                **common,
            )
        )
    with transaction.atomic():
        delete_runs(find_runs(name))
        record_run(out, ImportDefaults(run=name), source=f"querygen run {r.pk}")
    return name


def report(r: QuerygenRun) -> str:
    """The run's report: what ran, what it found, new groups first."""
    share = r.reference_ok / r.queries if r.queries else 0.0
    lines = [
        f"querygen run {r.pk}: {r.scope}",
        f"seed {r.seed}, queries {r.first_index}..{r.next_index - 1}; "
        f"SUT {r.sut_version or '?'}; reference {r.reference_version or '-'}",
        f"{r.queries} queries in {r.wall_seconds:.0f} s ({r.queries_per_second:.1f}/s); "
        f"reference answered {share:.0%}",
        f"errors {r.errors}, row counts {r.row_counts}, contents {r.contents}, "
        f"crashes {r.crashes}, timeouts {r.timeouts}, too big {r.too_big}, "
        f"both refused {r.both_errors}",
        f"{r.findings} findings ({r.reductions} reduced) in {run_groups(r).count()} groups",
        "",
    ]
    for group in run_groups(r):
        flag = {"new": "NEW  ", "known": "known", "ignored": "ignored", "fixed": "fixed"}
        lines.append(
            f"  {flag.get(group.status, group.status)} {group.in_run:5d}x  {group.title[:120]}"
        )
        lines.append(f"        {_url('querygen:group-detail', group.pk)}")
        if group.link:
            lines.append(f"        bug report: {group.link}")
    return "\n".join(lines)


def announce(r: QuerygenRun) -> bool:
    """E-mail the contacts of project `querygen` (results' contacts: prefix
    `querygen.<pair>.`) the run's failing groups, when the run found a bug no run found before:
    a pair runs many times a day, and its known failures alone are no news. Mail trouble is
    logged, never raised: the run did its work; `manage.py notify_contacts` can send again."""
    new = Group.objects.filter(first_run=r, status=GroupStatus.NEW, merged_into__isnull=True)
    if not new.exists():
        return False
    try:
        summary = notify_contacts(r.results_run)
    except AssayError as exc:
        log.warning("querygen run %s: announcement not sent: %s", r.pk, exc.detail)
        return False
    r.log(f"announced to {len(summary.messages)} contact(s)")
    return bool(summary.messages)


# --- the schedule -------------------------------------------------------------------------------


def start_due_runs() -> list[QuerygenRun]:
    """Scheduled: a run for every enabled pair that is due and has none pending."""
    started = []
    now = timezone.now()
    for pair in Pair.objects.filter(enabled=True).select_related("sut", "reference"):
        if pair.last_started_at and pair.last_started_at > now - timedelta(
            minutes=pair.every_minutes
        ):
            continue
        if pair.runs.filter(state__in=PENDING).exists():
            continue
        # Two schedulers racing: the one whose conditional update wins starts the run.
        won = Pair.objects.filter(pk=pair.pk, last_started_at=pair.last_started_at).update(
            last_started_at=now
        )
        if not won:
            continue
        try:
            started.append(submit_pair(pair))
        except AssayError as exc:  # an engine gone, say: the other pairs still start
            log.warning("querygen pair %s not started: %s", pair, exc)
            Pair.objects.filter(pk=pair.pk).update(last_error=exc.detail)
    return started


def submit_pair(pair: Pair, **overrides: Any) -> QuerygenRun:
    """A run of the pair now; the pair's interval counts from it."""
    Pair.objects.filter(pk=pair.pk).update(last_started_at=timezone.now())
    run = submit_run(**_pair_options(pair, overrides))
    Pair.objects.filter(pk=pair.pk).exclude(last_error="").update(last_error="")
    return run


def _pair_options(pair: Pair, overrides: dict[str, Any]) -> dict[str, Any]:
    return {
        "sut": pair.sut,
        "reference": pair.reference,
        "oracle": pair.oracle,
        "sut_python": pair.sut_python,
        "ladder": pair.ladder,
        "profile": pair.profile,
        "budget_queries": pair.budget_queries,
        "budget_seconds": pair.budget_seconds,
        "timeout": pair.timeout,
        "max_rows": pair.max_rows,
        "label": f"{pair.name} (scheduled)",
        "pair": pair,
        **overrides,
    }


# --- replay ---------------------------------------------------------------------------------------


@dataclass
class Replay:
    which: str  # "reduced" or "original"
    kind: str
    detail: str
    reproduced: bool  # the same kind, sides refusing and normalized error as recorded
    sql: dict[str, str]
    results: list[dict[str, Any]]
    seconds: float


def replay_finding(finding: Finding, which: str = "reduced") -> Replay:
    """Check the finding's query again on its run's engines: the reduced one (when there is
    one), or the original, generated again from (seed, index)."""
    if which not in ("reduced", "original"):
        raise AssayError(f"Replay the reduced or the original query, not {which!r}.")
    r = finding.run
    started = time.perf_counter()
    try:
        profile = Profile.from_mapping(r.profile)
        with opened(r.sut, r.reference, r.sut_python, memory=profile.generated) as (sut, ref):
            setup = _setup(r, sut, ref, profile)
            # the query's database, made again from (seed, index); the reduced query runs on
            # it whole (what a reproducer's script shows is a part of it)
            query = setup.queries.query(finding.index)
            if which == "reduced" and finding.reduced_query:
                tree = sqlglot.parse_one(finding.reduced_query)
                check = check_tree(setup.oracle, tree, finding.seed, finding.index)
            else:
                which = "original"
                check = setup.oracle.check(query)
    except LoadFailed as exc:
        raise AssayError(f"{r.scope}: {exc}", code="engine_error") from exc
    except EngineError as exc:
        raise AssayError(f"{r.scope}: {exc}", code="engine_error") from exc
    except (SqlglotError, ValueError) as exc:  # a stored query or an engine's schema changed
        raise AssayError(
            f"Cannot replay finding {finding.pk}: {exc}", code="replay_failed"
        ) from exc
    recorded = (finding.kind, tuple(sorted(finding.errors)), normalize_error(_named_by(finding)))
    key = reproduce_key(check)
    return Replay(
        which=which,
        kind=check.kind.value,
        detail=check.detail,
        reproduced=(key[0].value, key[1], key[2]) == recorded,
        sql=dict(check.sql),
        results=groups.results_of(check),
        seconds=time.perf_counter() - started,
    )
