"""Benchmark: importing a big JUnit file through the service the API uses.

    python benchmarks/results_import.py [--n 100000] [--anchor-n 10000] [--repeats 3]
        [--postgres-url URL | --sqlite-only] [--profile]

Per database (a fresh temporary SQLite file; PostgreSQL from --postgres-url, $BENCH_POSTGRES_URL,
or a throwaway server started here like tests/postgres_plugin.py does), it times:
  (a) parse + import of an n-testcase file with results.services.imports.import_files,
  (b) the re-import of the same file into the same run (the update path),
  (c) the anchor: a naive import in the same process, one TestResult(...).save() per result of
      the same kind of data (inside one transaction), on --anchor-n results: rates compared,
in --repeats rounds (each imports into a run of its own), and prints the medians in
results/second, with the load average, the ratio (a)/(c) and the goals, and splits (a) into
parse, SQL (time inside cursor.execute) and the rest. --profile adds cProfile listings.

This module also holds the database set-up shared with benchmarks/check_expected.py.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.postgres_plugin when run as a script
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("ASSAY_DEV", "1")  # a development SECRET_KEY is fine here

GOALS = {"sqlite": 20_000, "postgresql": 50_000}  # results/second, parse + import


# --- output ---------------------------------------------------------------------------------

_T0 = time.perf_counter()


def step(message: str) -> None:
    """One line per stage, so a long run shows where it is."""
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", flush=True)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def verdict(value: float, goal: float, *, higher_is_better: bool = True) -> str:
    ok = value >= goal if higher_is_better else value <= goal
    return "MET" if ok else "MISSED"


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """`with timed() as t: ...` then t[0] is the elapsed seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


# --- databases ------------------------------------------------------------------------------


@dataclass
class Database:
    vendor: str  # "sqlite" or "postgresql"
    label: str
    settings: dict[str, Any]


def _setup_django() -> None:
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def _set_default_settings(db: dict[str, Any]) -> None:
    """Make DATABASES["default"] (and the connection handler's copy) describe `db`, in place,
    as tests/postgres_plugin.py does: it also works when Django was set up before."""
    from django.conf import settings
    from django.db import connections

    full = connections.configure_settings({"default": dict(db)})["default"]
    targets = [settings.DATABASES["default"]]
    if connections.settings["default"] is not targets[0]:
        targets.append(connections.settings["default"])
    for target in targets:
        target.clear()
        target.update(full)


@contextlib.contextmanager
def use_database(db: Database) -> Iterator[None]:
    """Point Django at `db`, migrate it, and put the previous database back afterwards.

    The previous connection is set aside, not closed: inside pytest it may hold an in-memory
    SQLite test database, which would vanish with its last connection."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    saved = dict(settings.DATABASES["default"])
    previous = None
    if any(conn.alias == "default" for conn in connections.all(initialized_only=True)):
        previous = connections["default"]
        del connections["default"]
    _set_default_settings(db.settings)
    try:
        step(f"{db.label}: migrating")
        call_command("migrate", verbosity=0, interactive=False)
        yield
    finally:
        connections["default"].close()
        del connections["default"]
        _set_default_settings(saved)
        if previous is not None:
            connections["default"] = previous


def sqlite_settings(path: Path) -> dict[str, Any]:
    # The same options config/settings.py gives a SQLite DATABASE_URL: WAL, IMMEDIATE.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def _postgres_settings(url: str) -> dict[str, Any]:
    import dj_database_url

    return dj_database_url.parse(url)


@contextlib.contextmanager
def _fresh_postgres_database(url: str) -> Iterator[str]:
    """A new, empty database on the server of `url`, dropped afterwards."""
    import psycopg
    from psycopg import sql

    admin = _postgres_settings(url)
    name = f"assay_bench_{os.getpid()}_{int(time.time())}"
    params = {
        "host": admin["HOST"] or None,
        "port": admin["PORT"] or None,
        "user": admin["USER"] or None,
        "password": admin["PASSWORD"] or None,
        "dbname": admin["NAME"] or "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**params) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(url)._replace(path="/" + name))
    finally:
        with psycopg.connect(**params) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextlib.contextmanager
def _started_postgres() -> Iterator[str | None]:
    """Start a throwaway PostgreSQL server (as tests/postgres_plugin.py does); yield its URL,
    or None when this machine has no server binaries."""
    try:
        from pytest_postgresql.executors import PostgreSQLExecutor

        from tests import postgres_plugin as pg
    except ImportError as exc:
        step(f"PostgreSQL: cannot start one ({exc})")
        yield None
        return
    pg_ctl = pg.find_pg_ctl()
    if pg_ctl is None or pg._run_as_server_user_prefix() is None:
        yield None
        return
    from port_for import get_port

    state, cluster, wrapper = pg._make_state_dir(pg_ctl)
    port = get_port(None)
    assert port is not None
    # Default durability (unlike the test plugin's synchronous_commit=off): honest figures.
    executor = PostgreSQLExecutor(
        executable=str(wrapper),
        host="127.0.0.1",
        port=port,
        datadir=str(cluster / "data"),
        unixsocketdir=str(cluster / "sock"),
        logfile=str(cluster / "postgresql.log"),
        startparams="-w",
        dbname="postgres",
        user=pg.DB_SUPERUSER,
        password=None,
        postgres_options="-c listen_addresses=127.0.0.1",
        timeout=120,
    )
    try:
        step(f"PostgreSQL: starting a throwaway server on port {port}")
        executor.start()
        yield f"postgres://{pg.DB_SUPERUSER}@127.0.0.1:{port}/postgres"
    finally:
        pg._stop_quietly(executor)
        if not executor.running():
            shutil.rmtree(state, ignore_errors=True)


@contextlib.contextmanager
def _sqlite_database() -> Iterator[Database]:
    tmp = Path(tempfile.mkdtemp(prefix="assay-bench-"))
    try:
        yield Database("sqlite", "SQLite", sqlite_settings(tmp / "bench.sqlite3"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _postgres_database(url: str | None) -> Iterator[Database | None]:
    with contextlib.ExitStack() as stack:
        if not url:
            url = stack.enter_context(_started_postgres())
        if not url:
            yield None
            return
        fresh = stack.enter_context(_fresh_postgres_database(url))
        yield Database("postgresql", "PostgreSQL", _postgres_settings(fresh))


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", ""),
        help="A PostgreSQL server to use (a fresh database is created and dropped on it); "
        "default $BENCH_POSTGRES_URL, else a throwaway server is started if possible.",
    )
    parser.add_argument("--sqlite-only", action="store_true", help="Skip PostgreSQL.")


def for_each_database(args: argparse.Namespace, body: Callable[[Database], None]) -> None:
    """Run `body` on a fresh SQLite database, then on PostgreSQL when there is one."""
    _setup_django()
    with _sqlite_database() as db, use_database(db):
        body(db)
    if args.sqlite_only:
        print("PostgreSQL: skipped (--sqlite-only)", flush=True)
        return
    with _postgres_database(args.postgres_url) as pg:
        if pg is None:
            print(
                "PostgreSQL: skipped: no PostgreSQL (give --postgres-url or BENCH_POSTGRES_URL)",
                flush=True,
            )
            return
        with use_database(pg):
            body(pg)


def profiled(enabled: bool, func: Callable[[], Any], *, top: int = 30) -> Any:
    """Run func, under cProfile when enabled, and print where the time went."""
    if not enabled:
        return func()
    profile = cProfile.Profile()
    result = profile.runcall(func)
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    print(out.getvalue(), flush=True)
    return result


# --- the benchmark --------------------------------------------------------------------------


def _naive_import(parsed_results: Sequence[Any], run_name: str) -> int:
    """The anchor: what a straightforward view would do, one INSERT per result."""
    from django.db import transaction
    from django.utils import timezone

    from results.models import Project, TestResult
    from results.services.runs import get_or_create_run

    now = timezone.now()
    with transaction.atomic():
        run, _ = get_or_create_run(run_name)
        project, _ = Project.objects.get_or_create(name="bench")
        for item in parsed_results:
            TestResult(
                run=run,
                project=project,
                host="bench-host",
                context="default",
                test_name=item.test_name,
                status=item.status,
                start_time=item.start_time,
                end_time=item.end_time,
                duration=item.duration,
                location=item.location,
                test_runner=item.test_runner,
                log=item.log,
                tda=item.tda,
                tra=item.tra,
                imported_at=now,
            ).save()
    return len(parsed_results)


class SqlClock:
    """Sums the time spent inside cursor.execute (driver + database) while installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.queries += 1


def timed_service(profile: bool, func: Callable[[], Any]) -> tuple[float, SqlClock]:
    """Elapsed seconds of func and the part of it spent in SQL."""
    from django.db import connection

    clock = SqlClock()
    with connection.execute_wrapper(clock), timed() as elapsed:
        profiled(profile, func)
    return elapsed[0], clock


def bench_import(db: Database, n: int, anchor_n: int, profile: bool, repeats: int) -> None:
    from results.demo import junit_document
    from results.importers import parse_file
    from results.models import TestResult
    from results.services.imports import ImportDefaults, import_files

    step(f"{db.label}: writing a {n:,}-testcase JUnit file")
    with timed() as t_gen:
        data = junit_document(n)
    step(f"{db.label}: {len(data) / 1e6:.1f} MB written in {t_gen[0]:.2f} s; parsing alone")
    with timed() as t_parse:
        parsed = parse_file(data, "bench.xml")
    assert len(parsed.results) == n, (len(parsed.results), n)
    del parsed
    anchor_n = min(anchor_n, n)
    anchor_data = junit_document(anchor_n)

    # Rounds of (a), (b) and (c) in turn, so that the machine's changes of speed hit all three.
    imports, agains, naives = [], [], []
    for r in range(1, repeats + 1):
        run = f"bench_import_{r}"
        defaults = ImportDefaults(run=run, project="bench", host="bench-host")
        step(f"{db.label}: round {r}/{repeats}: (a) parse + import through import_files")
        imports.append(
            timed_service(profile, lambda d=defaults: import_files([("bench.xml", data)], d))
        )
        assert TestResult.objects.filter(run__name=run).count() == n
        step(f"{db.label}: round {r}/{repeats}: (b) re-import of the file into the same run")
        agains.append(
            timed_service(profile, lambda d=defaults: import_files([("bench.xml", data)], d))
        )
        assert TestResult.objects.filter(run__name=run).count() == n
        step(f"{db.label}: round {r}/{repeats}: (c) anchor, a save() per result, {anchor_n:,}")
        with timed() as t_naive:
            anchor_results = parse_file(anchor_data, "anchor.xml").results
            _naive_import(anchor_results, f"bench_naive_{r}")
        naives.append(t_naive[0])

    t_import, sql_import = _median_round(imports)
    t_again, sql_again = _median_round(agains)
    t_naive = statistics.median(naives)
    r_import, r_again = rate(n, t_import), rate(n, t_again)
    r_naive = rate(anchor_n, t_naive)
    goal = GOALS[db.vendor]
    rest = t_import - t_parse[0] - sql_import.seconds
    each = " / ".join(f"{rate(n, t):,.0f}" for t, _ in imports)
    one, five, fifteen = os.getloadavg()
    print(
        f"\n== {db.label}: import of {n:,} JUnit testcases (medians of {repeats} rounds; load "
        f"average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs) ==\n"
        f"  (a) parse + import_files    {t_import:7.2f} s  {r_import:10,.0f} results/s"
        f"   goal >= {goal:,}/s: {verdict(r_import, goal)}  (rounds: {each})\n"
        f"      parse (measured alone)  {t_parse[0]:7.2f} s  "
        f"{rate(n, t_parse[0]):10,.0f} results/s\n"
        f"      SQL in cursor.execute   {sql_import.seconds:7.2f} s  "
        f"({sql_import.queries} statements; a PostgreSQL COPY is not seen here)\n"
        f"      the rest                {rest:7.2f} s  (the service's Python, and any COPY)\n"
        f"  (b) re-import, update path  {t_again:7.2f} s  {r_again:10,.0f} results/s"
        f"   (no goal: every row updated); SQL {sql_again.seconds:.2f} s\n"
        f"  (c) anchor, save() per row  {t_naive:7.2f} s  {r_naive:10,.0f} results/s"
        f"   ({anchor_n:,} results, parse included, one transaction; rates compared)\n"
        f"  ratio (a)/(c): {r_import / r_naive:.1f}x   ratio (b)/(c): {r_again / r_naive:.1f}x\n",
        flush=True,
    )


def _median_round(rounds: list[tuple[float, SqlClock]]) -> tuple[float, SqlClock]:
    """The round of the median time (the upper one of an even number), with its SQL split."""
    return sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="Testcases in the file.")
    parser.add_argument(
        "--anchor-n", type=int, default=10_000, help="Results for the naive anchor (a rate)."
    )
    parser.add_argument("--repeats", type=int, default=3, help="Rounds of (a), (b), (c).")
    parser.add_argument("--profile", action="store_true", help="cProfile the service calls.")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    for_each_database(
        args, lambda db: bench_import(db, args.n, args.anchor_n, args.profile, args.repeats)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
