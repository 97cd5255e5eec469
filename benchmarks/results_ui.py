"""Benchmark: the run page, its tree and the compare page on a run of 100,000 results.

    python benchmarks/results_ui.py [--n 100000] [--repeat 7] [--mutes 0]
                                    [--postgres-url URL | --sqlite-only]

Per database (a fresh temporary SQLite file; PostgreSQL as benchmarks/results_import.py finds
or starts one), it imports two n-result daily runs through the import service (the demo JUnit
writer with different seeds, so failures move between the days, and a few tests left out of
each so there are new and vanished tests), then asks Django's test Client for each page
`--repeat` times and prints the median time and the number of SQL queries, against the goal
(under 300 ms on SQLite). Pages are timed cold (the tree and comparison cache emptied before
each request: the first visitor after an import) and warm (what everyone else gets). The
anchor is a plain `SELECT status, COUNT(*) ... GROUP BY status` over the run in the same
process; each page's cold time is printed as a multiple of it. `--mutes K` first mutes K of
the newer run's failing tests (results.services.triage), so every page also works out which
results are muted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results_import as bench  # noqa: E402  (the sibling script: shared database set-up)

GOAL_MS = 300.0  # per page, SQLite on this machine
BEFORE, NOW = "daily_2026-01-04", "daily_2026-01-05"


def _pages() -> list[tuple[str, str]]:
    """(label, URL) of what is timed. The demo names are tests.<package>.<module>.<Class>.x."""
    run, other = f"/runs/{NOW}/", f"{NOW}/compare/{BEFORE}/"
    return [
        ("run page = tree at the root", run),
        ("tree one level down", f"{run}?prefix=tests."),
        ("tree two levels down", f"{run}?prefix=tests.storage."),
        ("tree three levels down", f"{run}?prefix=tests.storage.test_basic."),
        ("run page, status F, page 2", f"{run}?status=F&page=2"),
        ("compare page (regressions)", f"/runs/{other}"),
        ("compare page, new tests", f"/runs/{other}?kind=new"),
        ("compare page, vanished tests", f"/runs/{other}?kind=vanished"),
        ("API tree at the root", f"/api/v1/runs/{NOW}/tree/"),
        ("API compare (first 1,000 each)", f"/api/v1/runs/{other}"),
        ("run list", "/runs/"),
    ]


def _median_ms(func: Callable[[], object], repeat: int, before: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _build(n: int) -> None:
    from results.demo import junit_document
    from results.services.imports import ImportDefaults, import_files

    # Every 500th test is absent from one day or the other: new and vanished tests.
    step = max(n // 200, 2)
    for name, seed, omit in [(BEFORE, 1, range(1, n, step)), (NOW, 0, range(0, n, step))]:
        bench.step(f"importing {name}: {n:,} demo results (seed {seed})")
        document = junit_document(n, seed=seed, omit=omit)
        import_files([(f"{name}.xml", document)], ImportDefaults(run=name, project="bench"))


def _mute(k: int) -> None:
    """Mute k failing tests of the newer run (every page then asks which results are muted)."""
    from results.models import TestResult
    from results.services.triage import TriageChange, set_triage, target_of

    names = TestResult.objects.filter(run__name=NOW, status__in=["F", "E"]).values_list(
        "test_name", flat=True
    )
    for name in names[:k]:
        set_triage(
            target_of(project="bench", test_name=name), TriageChange(muted=True), who="bench"
        )


def bench_pages(db: bench.Database, n: int, repeat: int, mutes: int = 0) -> None:
    from django.core.cache import cache
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from results.models import TestResult, TestRun

    _build(n)
    if mutes:
        bench.step(f"muting {mutes} failing tests")
        _mute(mutes)
    if db.vendor == "postgresql":
        # What autovacuum does shortly after a big import; without statistics the planner
        # takes the fresh 200,000 rows for a few and picks nested loops.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TestResult._meta.db_table}")
    run = TestRun.objects.get(name=NOW)
    client = Client(SERVER_NAME="localhost")  # an allowed host outside the test runner

    def anchor() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT status, COUNT(*) FROM {TestResult._meta.db_table} "
                "WHERE run_id = %s GROUP BY status",
                [run.pk],
            )
            cursor.fetchall()

    anchor_ms = _median_ms(anchor, repeat, lambda: None)
    rows = []
    for label, url in _pages():
        bench.step(f"{db.label}: {label}")
        cache.clear()
        reset_queries()  # a request starts by emptying the log the context counts from
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        count = len(queries)  # now: the context reads the log lazily, and requests empty it
        assert response.status_code == 200, (url, response.status_code)
        cold = _median_ms(lambda url=url: client.get(url), repeat, cache.clear)
        warm = _median_ms(lambda url=url: client.get(url), repeat, lambda: None)
        rows.append((label, url, cold, warm, count))

    goal = f"goal < {GOAL_MS:.0f} ms"
    if db.vendor != "sqlite":
        goal += " (set for SQLite)"
    lines = [
        f"\n== {db.label}: pages of a {n:,}-result run against a {n:,}-result run "
        f"({mutes} muted tests; median of {repeat}) ==",
        f"  {'page':<32} {'cold ms':>8} {'warm ms':>8} {'queries':>8} {'x anchor':>9}  {goal}",
    ]
    for label, url, cold, warm, count in rows:
        verdict = bench.verdict(cold, GOAL_MS, higher_is_better=False)
        ratio = cold / anchor_ms if anchor_ms else float("inf")
        lines.append(
            f"  {label:<32} {cold:8.1f} {warm:8.1f} {count:8d} {ratio:8.1f}x  {verdict}   {url}"
        )
    lines.append(
        f"  anchor: SELECT status, COUNT(*) ... GROUP BY status over the run: {anchor_ms:.1f} ms\n"
    )
    print("\n".join(lines), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="Results in each run.")
    parser.add_argument("--repeat", type=int, default=7, help="Requests per figure.")
    parser.add_argument("--mutes", type=int, default=0, help="Failing tests to mute first.")
    bench.add_database_arguments(parser)
    args = parser.parse_args(argv)
    bench.for_each_database(args, lambda db: bench_pages(db, args.n, args.repeat, args.mutes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
