"""Submitting a querygen run: everything validated first, nothing created on bad input."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings

from core import jobs, roles
from core.engines import get_engine
from core.exceptions import AssayError
from core.models import Engine
from querygen.engine.profile import Profile
from querygen.models import OracleKind, Pair, QuerygenRun
from querygen.services.engines import EMBEDDED, check_python

MAX_SEED = 2**63 - 1
MAX_BUDGET_QUERIES = 100_000_000
MAX_BUDGET_SECONDS = 7 * 24 * 3600  # and at most the django-q task timeout (see build_run)
MAX_TIMEOUT = 600.0
RUN_ATTEMPTS = 10
MAX_ROWS = 1_000_000
MAX_REDUCTIONS = 10_000
DEFAULT_MAX_REDUCTIONS = 500

# --- submitting ---------------------------------------------------------------------------------


def _engine(value: str | Engine | None, role: str, *, generated: bool = False) -> Engine | None:
    if value is None or value == "":
        return None
    engine = value if isinstance(value, Engine) else get_engine(str(value), role)
    # Every kind takes querygen's own databases: SQLite and DuckDB in memory, PostgreSQL in a
    # schema of the run's own (its user needs CREATE on the database: the run says so).
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
    # The run's lease is kept alive from a thread while a check runs (core.jobs.keep_alive):
    # a check on two engines must only fit in django-q's task timeout.
    longest_query = min(MAX_TIMEOUT, max(1.0, (settings.Q_TIMEOUT - 120) / 2 - 5))
    if not 0.01 <= timeout <= longest_query:
        raise AssayError(
            f"timeout: from 0.01 to {longest_query:g} seconds (a check on two engines must "
            "end within the task timeout, ASSAY_Q_TIMEOUT).",
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
        # A run goes on from its checkpoint: each worker that dies under it costs an attempt,
        # not the run's progress, so a long run may outlive several.
        max_attempts=RUN_ATTEMPTS,
    )


def submit_run(*, user: Any = None, **options: Any) -> QuerygenRun:
    """Create the run and queue it; raises AssayError (nothing created) on bad input.

    ``user`` is who asks over the web (None: the CLI and the schedule, trusted): a private
    build's interpreter (sut_python, ladder) is a program the worker runs, so it needs the
    private_builds permission (PermissionDenied otherwise)."""
    if user is not None and (options.get("sut_python") or options.get("ladder")):
        roles.require(user, "private_builds", "Running a private build (sut_python, ladder)")
    return jobs.submit(build_run(**options))
