"""A finding checked again on its run's engines."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot.errors import SqlglotError

from core.exceptions import AssayError
from querygen.engine.engines import EngineError
from querygen.engine.generated import LoadFailed
from querygen.engine.pipeline import (
    check_tree,
    reproduce_key,
)
from querygen.engine.profile import Profile
from querygen.engine.signature import normalize_error
from querygen.models import Finding
from querygen.services import groups
from querygen.services.engines import opened
from querygen.services.runs.execute import named_by, setup_checks

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
            setup = setup_checks(r, sut, ref, profile)
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
    recorded = (finding.kind, tuple(sorted(finding.errors)), normalize_error(named_by(finding)))
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
