"""Benchmark: search by test name and a series' trends at a million results.

    python benchmarks/results_trends_search.py [--series 20] [--runs 50] [--tests 1000]
        [--repeat 7] [--database both|sqlite|postgresql] [--postgres-url URL]

Per database (a fresh temporary SQLite file; PostgreSQL from --postgres-url, $BENCH_POSTGRES_URL,
or a throwaway server, as benchmarks/results_import.py sets them up), it writes series x runs x
tests results through the import's bulk writer (default 20 x 50 x 1,000 = 1,000,000: twenty
build lines, each its own host, one run a day, about 3% failing, each test's duration
stable within 20%), each run ending in refresh_counts as every import does, the search's job
done for all but the newest build (imported a moment ago: its results are searched directly).
Then it asks Django's test Client for the search page, the series pages and the series API
`--repeat` times and prints the median next to the goal (300 ms, issue 15) and next to an
anchor timed in the same process on the same data:
  - search: the naive query, `LIKE '%text%'` (ILIKE on PostgreSQL) over every result, grouped
    by test;
  - trends: the trend computed by scanning results, counts and summed durations per run of the
    window (GROUP BY run, status).
Series pages are timed cold (the cache emptied before each request: the first visitor after an
import) and warm.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results_import as bench  # noqa: E402  (the sibling script: shared database set-up)

GOAL_MS = 300.0
NEEDLE = "tests.Storage.test_update_one_row_fast"  # one test of each series holds it
WORDS = ["storage", "query", "index", "wal", "btree", "planner", "cache", "network", "auth"]
VERBS = ["insert", "update", "delete", "scan", "replay", "split", "merge", "lock", "sync"]


def _names(n: int) -> list[str]:
    """n test names shaped like a real suite's: tests.<Package>.test_<verb>_<word>_<i>."""
    names = [NEEDLE]
    i = 0
    while len(names) < n:
        package = WORDS[i % len(WORDS)].capitalize()
        verb, word = VERBS[(i // 9) % len(VERBS)], WORDS[(i // 81) % len(WORDS)]
        names.append(f"tests.{package}.test_{verb}_{word}_{i:05d}")
        i += 1
    return names


def _build(series: int, runs: int, tests: int) -> None:
    from django.utils import timezone

    from results.models import Project, TestRun
    from results.services.bulk import write_results
    from results.services.runs import refresh_counts
    from results.services.search import index_pending_tests

    rng = random.Random(15)
    names = _names(tests)
    # A test's duration is much the same from run to run (a slow test stays slow): a base per
    # test, heavy-tailed as real suites are, with +-20% noise per run.
    base = [rng.expovariate(5.0) for _ in names]
    project = Project.objects.get_or_create(name="bench")[0].pk
    start = datetime(2026, 1, 1, 2, tzinfo=UTC)
    now = timezone.now()
    total = series * runs * tests
    written = 0
    for day in range(runs):
        for s in range(series):
            run = TestRun.objects.create(
                name=f"s{s:02d}-build-{day:04d}",
                series=f"s{s:02d}",
                started_at=start + timedelta(days=day, minutes=s),
                branch="main",
                commit=f"{rng.getrandbits(40):010x}",
            )
            rows = [
                (run.pk, project, f"host-{s:02d}", "default", name,
                 "F" if rng.random() < 0.03 else "P", None, None,
                 base[i] * rng.uniform(0.8, 1.2), "", "", "", 0, {}, {}, now, 0, "", "")
                for i, name in enumerate(names)
            ]  # fmt: skip
            write_results(rows, upsert=False)
            refresh_counts(run)
            written += tests
        bench.step(f"  {written:,} of {total:,} results written")
    # The search's job has run after each import, as a worker does within seconds; the
    # newest build was imported a moment ago and waits for it, so the search reads its
    # results too (results.selectors.search).
    index_pending_tests()
    TestRun.objects.filter(pk=run.pk).update(search_pending=True)


def _median_ms(func: Callable[[], object], repeat: int, before: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        before()
        begin = time.perf_counter()
        func()
        times.append((time.perf_counter() - begin) * 1000)
    return statistics.median(times)


def _sql(sql: str, params: list) -> Callable[[], None]:
    from django.db import connection

    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return run


def bench_db(db: bench.Database, series: int, runs: int, tests: int, repeat: int) -> None:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from results.models import TestResult, TestRun
    from results.selectors.trends import series_runs

    _build(series, runs, tests)
    results = TestResult._meta.db_table
    if db.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does soon after a big import
            cursor.execute(f"ANALYZE {results}")
            cursor.execute("ANALYZE results_knowntest")
            cursor.execute(
                "SELECT 1 FROM pg_indexes WHERE indexname = 'results_knowntest_name_trgm'"
            )
            trigram = "pg_trgm index present" if cursor.fetchone() else "NO pg_trgm index"
    else:
        trigram = "names table scanned"
    client = Client(SERVER_NAME="localhost")
    name = f"s{min(7, series - 1):02d}"
    window = list(series_runs(name).values_list("pk", flat=True)[:30])
    like = "ILIKE" if db.vendor == "postgresql" else "LIKE"
    anchors = {
        "search": _sql(
            f"SELECT test_name, project_id, host, context, COUNT(*) FROM {results} "  # noqa: S608
            f"WHERE test_name {like} %s GROUP BY test_name, project_id, host, context "
            "ORDER BY test_name LIMIT 50",
            ["%update_one_row%"],
        ),
        "trend": _sql(
            f"SELECT run_id, status, COUNT(*), SUM(duration) FROM {results} "  # noqa: S608
            f"WHERE run_id IN ({', '.join(map(str, window))}) GROUP BY run_id, status",
            [],
        ),
    }
    anchor_ms = {k: _median_ms(f, repeat, lambda: None) for k, f in anchors.items()}
    pages = [
        ("search update_one_row", "/search/?q=update_one_row", "search"),
        ("search UPDATE_ONE_ROW", "/search/?q=UPDATE_ONE_ROW", "search"),
        ("search storage (many), page 3", "/search/?q=storage&page=3", "search"),
        ("series page, 30 runs", f"/series/{name}/", "trend"),
        ("series page, 100 runs", f"/series/{name}/?runs=100", "trend"),
        ("API series trend, 30 runs", f"/api/v1/series/{name}/", "trend"),
        ("series list", "/series/", "trend"),
        ("dashboard", "/", "trend"),
    ]
    rows = []
    for label, url, kind in pages:
        bench.step(f"{db.label}: {label}")
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        cold = _median_ms(lambda url=url: client.get(url), repeat, cache.clear)
        warm = _median_ms(lambda url=url: client.get(url), repeat, lambda: None)
        rows.append((label, url, kind, cold, warm))
    count = TestResult.objects.count()
    lines = [
        f"\n== {db.label}: {count:,} results, {TestRun.objects.count():,} runs in {series} "
        f"series; search: {trigram} (median of {repeat}) ==",
        f"  {'page':<32} {'cold ms':>8} {'warm ms':>8} {'anchor ms':>10}  goal < {GOAL_MS:.0f} ms",
    ]
    for label, url, kind, cold, warm in rows:
        verdict = bench.verdict(cold, GOAL_MS, higher_is_better=False)
        lines.append(
            f"  {label:<32} {cold:8.1f} {warm:8.1f} {anchor_ms[kind]:10.1f}  {verdict}   {url}"
        )
    lines.append(
        f"  anchors: search = `test_name {like} '%update_one_row%'` over every result, grouped "
        f"by test: {anchor_ms['search']:.1f} ms; trend = counts and summed durations per run "
        f"of 30 runs from their results: {anchor_ms['trend']:.1f} ms\n"
    )
    print("\n".join(lines), flush=True)


def _postgres_only(args: argparse.Namespace, body: Callable[[bench.Database], None]) -> None:
    import psycopg

    bench._setup_django()
    for attempt in range(3):  # a loaded machine: the new server may still be starting up
        try:
            with bench._postgres_database(args.postgres_url) as pg:
                if pg is None:
                    print("PostgreSQL: none (give --postgres-url or BENCH_POSTGRES_URL)")
                    return
                with bench.use_database(pg):
                    body(pg)
                return
        except psycopg.OperationalError as exc:
            if "starting up" not in str(exc) or attempt == 2:
                raise
            bench.step(f"PostgreSQL: {exc}; again")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--runs", type=int, default=50, help="Runs per series.")
    parser.add_argument("--tests", type=int, default=1000, help="Results per run.")
    parser.add_argument("--repeat", type=int, default=7, help="Requests per figure.")
    parser.add_argument(
        "--database", choices=["both", "sqlite", "postgresql"], default="both",
        help="Which database to measure (default both: SQLite, then PostgreSQL if there is one).",
    )  # fmt: skip
    bench.add_database_arguments(parser)
    args = parser.parse_args(argv)
    if args.database == "sqlite":
        args.sqlite_only = True

    def body(db: bench.Database) -> None:
        if args.database in ("both", db.vendor):
            bench_db(db, args.series, args.runs, args.tests, args.repeat)

    if args.database == "postgresql":
        _postgres_only(args, body)
    else:
        bench.for_each_database(args, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
