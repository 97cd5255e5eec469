"""Rows for querygen's page and selector tests, made directly (no engine runs): runs, groups
and findings with results in the shape services.groups.results_of writes."""

from __future__ import annotations

from itertools import count

from django.utils import timezone

from core.models import Engine, JobState
from querygen.models import Finding, Group, QuerygenRun

_numbers = count(1)


def make_engines() -> tuple[Engine, Engine]:
    duck, _ = Engine.objects.get_or_create(
        name="f-duck", defaults={"kind": "duckdb", "path": "/nonexistent/f.duckdb"}
    )
    lite, _ = Engine.objects.get_or_create(
        name="f-lite", defaults={"kind": "sqlite", "path": "/nonexistent/f.sqlite"}
    )
    return duck, lite


def make_run(**fields) -> QuerygenRun:
    duck, lite = make_engines()
    values = {
        "sut": duck,
        "reference": lite,
        "seed": 7,
        "budget_queries": 1000,
        "state": JobState.SUCCEEDED,
        "queries": 1000,
        "errors": 4,
        "row_counts": 2,
        "contents": 6,
        "crashes": 0,
        "wall_seconds": 20.0,
        "finished_at": timezone.now(),
    }
    values.update(fields)
    return QuerygenRun.objects.create(**values)


def make_group(run: QuerygenRun, **fields) -> Group:
    now = timezone.now()
    values = {
        "scope": run.scope,
        "signature": f"sig{next(_numbers):08d}",
        "kind": "content",
        "shape": "SELECT col FROM t",
        "title": "content: 1 of 3 rows differ",
        "count": 1,
        "first_seen": now,
        "last_seen": now,
        "first_run": run,
        "last_run": run,
    }
    values.update(fields)
    return Group.objects.create(**values)


def side(name, engine, rows, marked=(), total=None, only=None, columns=("c0",), **fields):
    return {
        "side": name,
        "engine": engine,
        "status": "ok",
        "error": "",
        "columns": list(columns),
        "rows": rows,
        "total": len(rows) if total is None else total,
        "marked": list(marked),
        "only": [rows[i] for i in marked] if only is None else only,
        **fields,
    }


CONTENT_RESULTS = [
    side("sut", "f-duck", [[1], [None], [2.5]], marked=[2]),
    side("ref", "f-lite", [[1], [None], [3.5]], marked=[2]),
]


def make_finding(group: Group, run: QuerygenRun | None = None, **fields) -> Finding:
    run = run or group.last_run
    values = {
        "group": group,
        "run": run,
        "seed": run.seed,
        "index": next(_numbers),
        "kind": group.kind,
        "detail": "1 of 3 rows differ",
        "engines": {"sut": "f-duck", "ref": "f-lite"},
        "sql": {"sut": "SELECT a, b FROM t WHERE a > 1", "ref": "SELECT a, b FROM t WHERE a > 1"},
        "reduced_sql": {"sut": "SELECT a FROM t", "ref": "SELECT a FROM t"},
        "reduced_query": "SELECT a FROM t",
        "results": CONTENT_RESULTS,
        "raw_signature": "raw",
    }
    values.update(fields)
    return Finding.objects.create(**values)
