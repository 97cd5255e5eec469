"""Benchmark: the migration gate's speed (issue 12), each figure next to its anchor measured in
the same process and the same minutes.

    python benchmarks/migrations_gate.py [--quick] [--orders N] [--gate-repeat 5]
        [--clone-mb 1000] [--clone-repeat 3] [--postgres-url URL]

(1) The gate's overhead against a bare ``migrate``: the example shop (migrations_gate/example,
    copied to a scratch folder as a check's worktree would be) at migration 0001 with --orders
    orders, registered as a dataset (runner.datasets.register_postgresql, the shop's
    anonymization rules). Per repeat, two clones of it: on one the gate's way, run_driver on the
    Django driver with the clone's conninfo (each migration waited for, snapshotted and its
    locks sampled); on the other the anchor, ``python manage.py migrate --no-input`` with the
    same environment. Which goes first alternates. Goal: the gate at most 1.2x the anchor.
(2) Cloning a dataset against restoring it: a --clone-mb database made with generate_series
    (three tables, their indexes and a foreign key), vacuumed and frozen, dumped with
    ``pg_dump -Fc`` and marked a template. Per repeat, in rotating order: runner.datasets.clone
    (CREATE DATABASE ... TEMPLATE, with STRATEGY FILE_COPY on PostgreSQL 15+), the same with
    PostgreSQL's default strategy, WAL_LOG (15+), and the anchor, an empty database and
    ``pg_restore -d`` of the dump. A CHECKPOINT before each, untimed; the copy is dropped after.
    Also timed: each one until its pages are on disk (a CHECKPOINT right after it), since
    WAL_LOG and a restore leave dirty buffers behind while FILE_COPY writes everything before it
    returns. Goal: the clone at least 10x faster than the restore.

Everything runs on a throwaway PostgreSQL server started here (as the test suite does; default
durability), or on --postgres-url ($BENCH_POSTGRES_URL), where every database it makes is
dropped at the end. Medians of the repeats, the machine's load average, one summary block at
the end. --quick: smoke sizes (what tests/benchmarks/test_migrations_gate.py runs).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The root before this folder: with this script's folder first, `migrations_gate` is this file.
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402

from benchmarks import results_import as bench  # noqa: E402 (its throwaway server)
from migrations_gate.runner import datasets  # noqa: E402
from migrations_gate.runner.anonymize import parse_rules  # noqa: E402
from migrations_gate.runner.steps import OK, libpq_env, run_driver  # noqa: E402

EXAMPLE = ROOT / "migrations_gate" / "example"
DRIVER = ROOT / "migrations_gate" / "runner" / "drivers" / "django_driver.py"
SETTINGS = "shopsite.settings"
RULES = "columns:\n  shop_customer.name: name\n  shop_customer.email: email\n"
SECRET = b"benchmark-only"
OVERHEAD_GOAL = 1.2  # the gate's time over a bare migrate's, at most
CLONE_GOAL = 10.0  # the restore's time over the clone's, at least
# clone()'s FILE_COPY is "clearly faster" than WAL_LOG at this many times, and with its slowest
# run under WAL_LOG's best.
CLEARLY = 1.5
DEADLINE = 3600.0  # seconds for one migrate run
# The clone dataset's size: an empty database's MB, and events (with their share of accounts,
# items and indexes) per MB beyond it, measured on PostgreSQL 15.
EMPTY_MB = 8
EVENTS_PER_MB = 4_850


def step(message: str) -> None:
    bench.step(message)


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def runs(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """`with timed() as t: ...` then t[0] is the elapsed seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


class Server:
    """The admin connection's server, and every database made on it, dropped by cleanup()."""

    def __init__(self, conninfo: str, prefix: str) -> None:
        self.admin = conninfo
        self.prefix = prefix
        self.made: list[str] = []
        with self.connect() as conn:
            self.version = int(conn.execute("SHOW server_version_num").fetchone()[0])
            self.version_text = conn.execute("SHOW server_version").fetchone()[0]

    def name(self, suffix: str) -> str:
        name = f"{self.prefix}_{suffix}"
        self.made.append(name)
        return name

    def connect(self, dbname: str | None = None) -> psycopg.Connection:
        info = self.admin if dbname is None else make_conninfo(self.admin, dbname=dbname)
        return psycopg.connect(info, autocommit=True)

    def conninfo(self, dbname: str) -> str:
        return make_conninfo(self.admin, dbname=dbname)

    def execute(self, statement: sql.Composable | str) -> None:
        with self.connect() as conn:
            conn.execute(statement)

    def checkpoint(self) -> None:
        self.execute("CHECKPOINT")

    def drop(self, name: str) -> None:
        datasets.drop(self.admin, name)
        if name in self.made:
            self.made.remove(name)

    def cleanup(self) -> None:
        for name in reversed(self.made):
            with contextlib.suppress(datasets.DatasetError, psycopg.Error):
                self.drop(name)
        self.made.clear()


def _tool_env(conninfo: str) -> tuple[str, dict[str, str]]:
    """A conninfo for a client program, and its environment: the password kept off argv."""
    params = conninfo_to_dict(conninfo)
    env = dict(os.environ)
    if password := params.pop("password", None):
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**params), env


def run_tool(argv: list[str], conninfo: str) -> None:
    info, env = _tool_env(conninfo)
    done = subprocess.run(
        [*argv[:1], f"--dbname={info}", *argv[1:]], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise SystemExit(f"{Path(argv[0]).name} failed (exit {done.returncode}): {tail}")


def project_env(conninfo: str) -> dict[str, str]:
    """What a check gives the project's process: the clone in libpq's variables, no Assay
    settings module."""
    env = {**os.environ, **libpq_env(conninfo)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


# --- (1) the gate against a bare migrate ---------------------------------------------------------


@dataclass
class GateFigures:
    orders: int
    customers: int
    dataset_mb: float
    repeats: int
    gate: list[float] = field(default_factory=list)
    gate_steps: list[float] = field(default_factory=list)  # the driver's clocks, summed
    anchor: list[float] = field(default_factory=list)
    per_step: dict[str, list[float]] = field(default_factory=dict)
    load_before: str = ""
    load_after: str = ""


def make_shop_source(server: Server, project: Path, orders: int, customers: int) -> str:
    """The shop at 0001 with rows: its database's conninfo."""
    name = server.name("shop_src")
    server.execute(
        sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
            sql.Identifier(name)
        )
    )
    conninfo = server.conninfo(name)
    made = run_driver(
        [sys.executable, str(DRIVER), "--settings", SETTINGS],
        env=project_env(conninfo),
        cwd=project,
        deadline=time.monotonic() + 300,
        stop_after=1,
    )
    if not made.steps or made.steps[0].status != OK:
        raise SystemExit("the shop's 0001 failed: " + " | ".join(made.tail[-5:]))
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "INSERT INTO shop_customer (name, email, joined) SELECT 'Customer ' || g, "
            "'c' || g || '@real.example', DATE '2015-01-01' + g %% 3000 "
            "FROM generate_series(1, %s) g",
            [customers],
        )
        conn.execute(
            "INSERT INTO shop_order (customer_id, total, placed, quantity) "
            "SELECT 1 + g %% %s, (g %% 100000) / 100.0, "
            "timestamptz '2020-01-01' + g * interval '1 minute', 1 + g %% 9 "
            "FROM generate_series(1, %s) g",
            [customers, orders],
        )
    return conninfo


def gate_run(conninfo: str, project: Path) -> tuple[float, list[tuple[str, float]]]:
    """The gate's way: the driver, each migration watched. Seconds and (migration, seconds)."""
    with timed() as t:
        run = run_driver(
            [sys.executable, str(DRIVER), "--settings", SETTINGS],
            env=project_env(conninfo),
            cwd=project,
            deadline=time.monotonic() + DEADLINE,
            conninfo=conninfo,
        )
    if not run.ended or run.exit_code != 0 or run.failed is not None:
        raise SystemExit("the gate's run failed: " + " | ".join(run.tail[-5:]))
    return t[0], [(s.migration, s.seconds) for s in run.steps]


def anchor_run(conninfo: str, project: Path) -> float:
    """The anchor: ``manage.py migrate --no-input`` with the same environment."""
    with timed() as t:
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input"],
            cwd=project,
            env=project_env(conninfo),
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
    if done.returncode != 0:
        raise SystemExit("manage.py migrate failed: " + " | ".join(done.stderr.splitlines()[-5:]))
    return t[0]


def applied(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM django_migrations WHERE app = 'shop'").fetchone()
    return int(row[0])


def bench_gate(server: Server, orders: int, repeats: int) -> GateFigures:
    customers = max(10, orders // 10)
    with tempfile.TemporaryDirectory(prefix="assay-bench-gate-") as tmp:
        project = Path(tmp) / "shop"
        shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
        step(f"(1) the shop at 0001 with {orders:,} orders and {customers:,} customers")
        source = make_shop_source(server, project, orders, customers)
        template = server.name("shop_tpl")
        step("(1) registering it as a dataset (register_postgresql, anonymized)")
        dataset = datasets.register_postgresql(
            source, server.admin, template, parse_rules(RULES), SECRET,
            progress=lambda m: step(f"    {m}"),
        )  # fmt: skip
        server.drop(conninfo_to_dict(source)["dbname"])
        figures = GateFigures(orders, customers, dataset.size_bytes / 1e6, repeats)
        figures.load_before = load()
        for i in range(repeats):
            a = datasets.clone(server.admin, template, server.name(f"gate_a{i}"))
            b = datasets.clone(server.admin, template, server.name(f"gate_b{i}"))
            order = ("gate", "anchor") if i % 2 == 0 else ("anchor", "gate")
            times: dict[str, float] = {}
            for which in order:
                server.checkpoint()  # the WAL of what came before is not this run's to flush
                if which == "gate":
                    times["gate"], steps = gate_run(a, project)
                    figures.gate_steps.append(sum(s for _, s in steps))
                    for migration, seconds in steps:
                        figures.per_step.setdefault(migration, []).append(seconds)
                else:
                    times["anchor"] = anchor_run(b, project)
            if applied(a) != 4 or applied(b) != 4:
                raise SystemExit("a run did not bring the shop to 0004")
            figures.gate.append(times["gate"])
            figures.anchor.append(times["anchor"])
            step(
                f"(1) repeat {i + 1}/{repeats} ({' then '.join(order)}): gate "
                f"{times['gate']:.2f} s (migrations {figures.gate_steps[-1]:.2f} s), "
                f"anchor {times['anchor']:.2f} s; load {load()}"
            )
            server.drop(conninfo_to_dict(a)["dbname"])
            server.drop(conninfo_to_dict(b)["dbname"])
        figures.load_after = load()
        server.drop(template)
    return figures


def report_gate(f: GateFigures) -> list[str]:
    gate, anchor = median(f.gate), median(f.anchor)
    ratio = gate / anchor
    # Each repeat's two runs share their minutes: the paired ratio shrugs off a busy minute.
    paired = median([g / a for g, a in zip(f.gate, f.anchor, strict=True)])
    per_step = ", ".join(f"{m.split('.', 1)[-1]} {median(s):.2f} s" for m, s in f.per_step.items())
    return [
        f"(1) the gate against a bare migrate: the example shop 0001 -> 0004, {f.orders:,} orders, "
        f"{f.customers:,} customers (dataset {f.dataset_mb:.1f} MB), {f.repeats} repeats, "
        "order alternated",
        f"  anchor: manage.py migrate --no-input           median {anchor:7.2f} s  "
        f"({runs(f.anchor)})",
        f"  gate: run_driver, each migration watched       median {gate:7.2f} s  ({runs(f.gate)})",
        f"    of which the migrations (driver's clocks)    median {median(f.gate_steps):7.2f} s  "
        f"({per_step})",
        f"  ratio gate/anchor: {ratio:.2f}x   goal <= {OVERHEAD_GOAL}x: "
        f"{verdict(ratio <= OVERHEAD_GOAL)}   (median of the paired ratios {paired:.2f}x)",
        f"  load average before {f.load_before}, after {f.load_after}",
    ]


# --- (2) cloning against restoring ---------------------------------------------------------------


@dataclass
class CloneFigures:
    dataset_mb: float
    dump_mb: float
    build_seconds: float
    dump_seconds: float
    repeats: int
    returned: dict[str, list[float]] = field(default_factory=dict)
    on_disk: dict[str, list[float]] = field(default_factory=dict)  # with a CHECKPOINT after
    file_copy: bool = True
    load_before: str = ""
    load_after: str = ""


def build_dataset(conninfo: str, mb: int) -> None:
    """About ``mb`` MB of tables and indexes from generate_series."""
    events = max(1_000, (mb - EMPTY_MB) * EVENTS_PER_MB)
    accounts, items = max(100, events // 20), events // 2
    statements = [
        "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL,"
        " created date NOT NULL)",
        f"INSERT INTO accounts SELECT g, 'Account ' || g, 'user' || g || '@example.com', "
        f"DATE '2015-01-01' + g % 3000 FROM generate_series(1, {accounts}) g",
        "CREATE TABLE events (id bigint PRIMARY KEY, account_id bigint NOT NULL, kind smallint "
        "NOT NULL, at timestamptz NOT NULL, amount numeric(12, 2), payload text)",
        f"INSERT INTO events SELECT g, 1 + g % {accounts}, g % 7, timestamptz '2020-01-01' + "
        f"g * interval '1 second', (g % 100000) / 100.0, md5(g::text) "
        f"FROM generate_series(1, {events}) g",
        "CREATE TABLE items (id bigint PRIMARY KEY, event_id bigint NOT NULL, sku text NOT NULL,"
        " qty integer NOT NULL)",
        f"INSERT INTO items SELECT g, 1 + (g * 7) % {events}, 'SKU-' || (g % 5000), 1 + g % 5 "
        f"FROM generate_series(1, {items}) g",
        "CREATE INDEX ON accounts (email)",
        "CREATE INDEX ON events (account_id)",
        "CREATE INDEX ON events (at)",
        "CREATE INDEX ON items (sku)",
        "ALTER TABLE events ADD FOREIGN KEY (account_id) REFERENCES accounts",
    ]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in statements:
            step(f"    {statement[:70]}")
            conn.execute(statement)
        step("    VACUUM (FREEZE, ANALYZE)")
        conn.execute("VACUUM (FREEZE, ANALYZE)")


def bench_clone(server: Server, mb: int, repeats: int) -> CloneFigures:
    pg_dump, pg_restore = datasets.pg_tool("pg_dump"), datasets.pg_tool("pg_restore")
    template = server.name("clone_tpl")
    server.execute(
        sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
            sql.Identifier(template)
        )
    )
    step(f"(2) building a dataset of about {mb:,} MB with generate_series")
    with timed() as t_build:
        build_dataset(server.conninfo(template), mb)
    with tempfile.TemporaryDirectory(prefix="assay-bench-clone-") as tmp:
        dump = os.path.join(tmp, "dataset.dump")
        step(f"(2) pg_dump -Fc ({pg_dump})")
        with timed() as t_dump:
            run_tool([pg_dump, "--format=custom", f"--file={dump}"], server.conninfo(template))
        ident = sql.Identifier(template)
        server.execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(ident)
        )
        with server.connect() as conn:
            size = conn.execute("SELECT pg_database_size(%s)", [template]).fetchone()[0]
        figures = CloneFigures(
            size / 1e6, os.path.getsize(dump) / 1e6, t_build[0], t_dump[0], repeats
        )
        figures.file_copy = server.version >= 150000

        def clone(name: str) -> None:
            datasets.clone(server.admin, template, name)

        def wal_log(name: str) -> None:
            server.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY WAL_LOG").format(
                    sql.Identifier(name), ident
                )
            )

        def restore(name: str) -> None:
            datasets.create_database(server.admin, name)
            run_tool(
                [pg_restore, "--no-owner", "--no-acl", "--exit-on-error", dump],
                server.conninfo(name),
            )

        methods: list[tuple[str, Callable[[str], None]]] = [("clone", clone), ("restore", restore)]
        if figures.file_copy:
            methods.insert(1, ("wal_log", wal_log))
        figures.load_before = load()
        for i in range(repeats):
            turn = methods[i % len(methods) :] + methods[: i % len(methods)]
            for label, method in turn:
                name = server.name(f"{label}{i}")
                server.checkpoint()
                start = time.perf_counter()
                method(name)
                returned = time.perf_counter() - start
                server.checkpoint()
                on_disk = time.perf_counter() - start
                figures.returned.setdefault(label, []).append(returned)
                figures.on_disk.setdefault(label, []).append(on_disk)
                step(
                    f"(2) repeat {i + 1}/{repeats}: {label} {returned:.2f} s "
                    f"({on_disk:.2f} s with the CHECKPOINT after); load {load()}"
                )
                server.drop(name)
        figures.load_after = load()
    server.drop(template)
    return figures


def report_clone(f: CloneFigures) -> list[str]:
    clone, restore = median(f.returned["clone"]), median(f.returned["restore"])
    ratio = restore / clone
    lines = [
        f"(2) cloning a dataset against restoring it: {f.dataset_mb:,.0f} MB (3 tables, "
        f"5 indexes, a foreign key; built in {f.build_seconds:.0f} s), dump {f.dump_mb:,.0f} MB "
        f"(pg_dump -Fc, {f.dump_seconds:.0f} s), {f.repeats} repeats, order rotated",
        "                                                  returned     with CHECKPOINT after",
    ]
    labels = {
        "restore": "anchor: createdb + pg_restore -d",
        "clone": "clone(): ... TEMPLATE" + (" (FILE_COPY)" if f.file_copy else ""),
        "wal_log": "the same, STRATEGY WAL_LOG (the default)",
    }
    for label in ("restore", "clone", "wal_log"):
        if label in f.returned:
            lines.append(
                f"  {labels[label]:48}median {median(f.returned[label]):7.2f} s"
                f"   {median(f.on_disk[label]):7.2f} s  ({runs(f.returned[label])})"
            )
    lines.append(
        f"  ratio restore/clone: {ratio:.1f}x   goal >= {CLONE_GOAL:g}x: "
        f"{verdict(ratio >= CLONE_GOAL)}"
    )
    if not f.file_copy:
        lines.append("  strategies: n/a (PostgreSQL before 15 only copies files)")
    else:
        lines.append("  " + file_copy_verdict(f))
    lines.append(f"  load average before {f.load_before}, after {f.load_after}")
    return lines


def file_copy_verdict(f: CloneFigures) -> str:
    """Whether clone()'s FILE_COPY is clearly faster than WAL_LOG, returned and on disk."""
    parts = []
    for what, figures in (("returned", f.returned), ("on disk", f.on_disk)):
        wal, copy = figures["wal_log"], figures["clone"]
        speedup = median(wal) / median(copy)
        clearly = speedup >= CLEARLY and max(copy) < min(wal)
        parts.append((what, speedup, clearly))
    said = ", ".join(f"{speedup:.1f}x {what}" for what, speedup, _ in parts)
    if all(clearly for _, _, clearly in parts):
        return f"clone()'s FILE_COPY is clearly faster than WAL_LOG ({said})"
    return f"clone()'s FILE_COPY against WAL_LOG: {said}: not clearly faster"


# --- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=6_000, help="orders in the shop (1)")
    parser.add_argument("--gate-repeat", type=int, default=5, help="repeats of (1)")
    parser.add_argument("--clone-mb", type=int, default=1000, help="the dataset's size (2)")
    parser.add_argument("--clone-repeat", type=int, default=3, help="repeats of (2)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", ""),
        help="a PostgreSQL server to use (its databases are dropped after); default "
        "$BENCH_POSTGRES_URL, else a throwaway server is started",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke sizes: --orders 1000 --gate-repeat 2 --clone-mb 50 --clone-repeat 1",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.gate_repeat, args.clone_mb, args.clone_repeat = 1000, 2, 50, 1
    load_start = load()
    with contextlib.ExitStack() as stack:
        url = args.postgres_url or stack.enter_context(bench._started_postgres())
        if not url:
            print("PostgreSQL: skipped: no PostgreSQL (give --postgres-url)", flush=True)
            return 0
        where = "--postgres-url" if args.postgres_url else "a throwaway server"
        server = Server(make_conninfo(**conninfo_to_dict(url)), f"assay_bench_gate_{os.getpid()}")
        stack.callback(server.cleanup)
        gate = bench_gate(server, args.orders, args.gate_repeat)
        cloned = bench_clone(server, args.clone_mb, args.clone_repeat)
        lines = [
            "",
            "== migrations gate: speed (issue 12) ==",
            f"  PostgreSQL {server.version_text} ({where}); {os.cpu_count()} CPUs; "
            f"load average {load_start} at the start, {load()} at the end",
            *("  " + line for line in report_gate(gate)),
            *("  " + line for line in report_clone(cloned)),
        ]
        print("\n".join(lines) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
