"""Benchmark: generating fakedb's ForcedSource as Parquet, against DuckDB on the same core.

    python benchmarks/datagen.py [--chunks 16] [--repeat 5] [--workers-chunks 64]
        [--qcluster-chunks 64] [--q-cluster KEY=JSON ...] [--qcluster-env NAME=VALUE ...]
        [--quick] [--profile]

(a) datagen: generate_chunk + write_chunk (Parquet) of --chunks chunks of the bundled fakedb spec,
    near the equator, one process, Arrow held to one thread. Each chunk generates all three
    tables (ForcedSource needs Object and CcdVisit) with their checksums and writes ForcedSource,
    with fsync off (DuckDB's COPY does not fsync either). Also printed: the same writing all
    three tables, and with write_chunk's default fsync on; only ForcedSource rows are counted.
(b) the anchor, in the same process: DuckDB (SET threads=1) making the same number of rows with
    the same column types from range() and random(), COPY ... TO 'x.parquet'.
Prints rows per second, the ratio (b)/(a) per core (goal: at most 1.5x), and generate/write
split. Then the speed-up of 2 worker processes over 1 on --workers-chunks chunks
(generate + write, multiprocessing; goal at least 1.7x on a 2-core machine). Then the same goal
for the app itself: a --qcluster-chunks run of fakedb (the same equatorial chunks, Parquet into a
temp folder) submitted to a throwaway site (crashtest/harness/site.py: a SQLite file migrated by
manage.py, django-q's ORM broker) and worked by a real `manage.py qcluster`, ASSAY_Q_WORKERS=1
and then 2: seconds from submit to the run's completed_at (the database's timestamps), chunks/s,
rows/s and the speed-up.
--q-cluster and --qcluster-env change the sites' Q_CLUSTER and environment, to measure a setting
before config/settings.py changes. Last, the PostgreSQL load speed of the same ForcedSource
chunks through datagen.generator.loaders (COPY) next to psycopg's executemany of the same rows
(the anchor), on a throwaway server or --postgres-url. --quick: smoke sizes (what
tests/benchmarks/test_datagen.py runs).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.types as pat  # noqa: E402

from crashtest.harness.site import ThrowawaySite  # noqa: E402
from datagen.generator import generate_chunk, load_bundled_spec, write_chunk  # noqa: E402
from datagen.generator.run import ChunkPool  # noqa: E402

RATIO_GOAL = 1.5  # DuckDB rows/s over datagen rows/s, per core
SPEEDUP_GOAL = 1.7  # 2 workers over 1
TABLE = "ForcedSource"
SEED = 20240601
QCLUSTER_WORKERS = (1, 2)  # worker processes of the one cluster, compared


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def equatorial_chunks(spec, count: int) -> list[int]:
    """Chunks from the middle of the id list (the equator): full-size boxes."""
    ids = spec.chunk_ids()
    middle = len(ids) // 2
    return ids[middle : middle + count]


def time_datagen(
    spec, chunks: list[int], out: Path, *, fsync: bool, tables: list[str] | None
) -> tuple[int, float, float]:
    """(ForcedSource rows, seconds generating, seconds writing `tables`, None for all)."""
    rows, generating, writing = 0, 0.0, 0.0
    for chunk_id in chunks:
        start = time.perf_counter()
        data = generate_chunk(spec, chunk_id, SEED)
        middle = time.perf_counter()
        write_chunk(data, out, tables=tables, fsync=fsync)
        generating += middle - start
        writing += time.perf_counter() - middle
        rows += data.rows[TABLE]
    shutil.rmtree(out)
    return rows, generating, writing


def duckdb_select(schema: pa.Schema, rows: int) -> str:
    """A SELECT of `rows` rows with the schema's column types, from range() and random()."""
    columns = []
    for i, field in enumerate(schema):
        kind = field.type
        if i == 0 and pat.is_int64(kind):
            expr = "range"
        elif pat.is_int64(kind):
            expr = "(random() * 1e12)::BIGINT"
        elif pat.is_int32(kind):
            expr = "(random() * 2e9 - 1e9)::INTEGER"
        elif pat.is_float32(kind):
            expr = "random()::FLOAT"
        elif pat.is_float64(kind):
            expr = "random()"
        elif pat.is_boolean(kind):
            expr = "random() < 0.5"
        elif pat.is_string(kind):
            expr = "md5(range::VARCHAR)"
        elif pat.is_date32(kind):
            expr = "DATE '2000-01-01' + (random() * 10000)::INTEGER"
        elif pat.is_timestamp(kind):
            expr = "make_timestamp((random() * 1.5e15)::BIGINT)"
        elif pat.is_decimal(kind):
            expr = f"(random() * 1e6)::DECIMAL({kind.precision},{kind.scale})"
        else:
            raise ValueError(f"no DuckDB expression for {kind}")
        columns.append(f'{expr} AS "{field.name}"')
    return f"SELECT {', '.join(columns)} FROM range({rows})"


def time_duckdb(schema: pa.Schema, rows: int, out: Path) -> float:
    connection = duckdb.connect()
    try:
        connection.execute("SET threads = 1")
        target = out / "duckdb.parquet"
        start = time.perf_counter()
        connection.execute(
            f"COPY ({duckdb_select(schema, rows)}) TO '{target}' "
            "(FORMAT parquet, COMPRESSION snappy)"
        )
        return time.perf_counter() - start
    finally:
        connection.close()


def time_workers(spec, chunks: list[int], out: Path, repeat: int) -> tuple[float, float]:
    """Best seconds for 1 and for 2 worker processes to generate and write the chunks (fsync
    off), alternating. Spawning the processes and their imports happen before any clock starts."""
    best = {1: float("inf"), 2: float("inf")}
    with ChunkPool(spec, 1) as one, ChunkPool(spec, 2) as two:
        for workers, pool in ((1, one), (2, two)):
            for _ in pool.run(chunks[:1] * workers, SEED, out / "warm", fsync=False):
                pass
        for i in range(repeat):
            for workers, pool in ((1, one), (2, two)):
                target = out / f"workers{workers}-{i}"
                start = time.perf_counter()
                for _ in pool.run(chunks, SEED, target, fsync=False):
                    pass
                best[workers] = min(best[workers], time.perf_counter() - start)
                shutil.rmtree(target)
    return best[1], best[2]


def time_postgres_load(spec, chunks: list[int], url: str | None) -> None:
    """COPY rows/s of ForcedSource into PostgreSQL, against executemany of the same rows."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import contextlib

    import psycopg
    import results_import as bench  # the sibling script: its throwaway server and databases

    from datagen.generator import loaders

    tables = [generate_chunk(spec, chunk, SEED).tables[TABLE] for chunk in chunks]
    data = pa.concat_tables(tables)
    with contextlib.ExitStack() as stack:
        server = url or stack.enter_context(bench._started_postgres())
        if server is None:
            print("  PostgreSQL load: skipped (no PostgreSQL server here)\n", flush=True)
            return
        dsn = stack.enter_context(bench._fresh_postgres_database(server))
        target = loaders.Target.postgresql(dsn)
        loaders.create_tables(target, {"copied": data.schema, "anchor": data.schema})
        copy = loaders.load_table(target, "copied", data).seconds
        sample = data.slice(0, min(200_000, data.num_rows))
        rows = list(zip(*(column.to_pylist() for column in sample.columns), strict=True))
        marks = ", ".join(["%s"] * sample.num_columns)
        start = time.perf_counter()
        with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
            cursor.executemany(f'INSERT INTO "anchor" VALUES ({marks})', rows)  # noqa: S608
        many = time.perf_counter() - start
        copy_rate, many_rate = rate(data.num_rows, copy), rate(sample.num_rows, many)
        print(
            f"  PostgreSQL load of {data.num_rows:,} {TABLE} rows: COPY (loaders.load_table) "
            f"{copy:.2f} s, {copy_rate:,.0f} rows/s; anchor executemany of {sample.num_rows:,} "
            f"rows {many_rate:,.0f} rows/s; ratio {copy_rate / many_rate:.1f}x\n",
            flush=True,
        )


# --- qcluster workers on a real run ---------------------------------------------------------

CLUSTER_START_SECONDS = 120  # a cluster that is not up by then is broken
RUN_DEADLINE_SECONDS = 900  # one run of the section, however slow the machine
SUBMIT = """
from datagen.generator import load_bundled_spec
from datagen.services.runs import submit_run
run = submit_run(load_bundled_spec("fakedb"), seed={seed}, chunks={chunks!r},
                 output_dir={out!r}, output_format="parquet", label={label!r})
print("RUN", run.pk)
"""


class Site(ThrowawaySite):
    """A throwaway site for the benchmark, with its qcluster: submits a run and times it from
    the database's own timestamps."""

    def start_cluster(self) -> None:
        name = f"qcluster-{len(self.processes)}"
        self.start(name, "qcluster")
        self.wait_running(name, time.monotonic() + CLUSTER_START_SECONDS)

    def submit(self, chunks: list[int], out: Path, label: str) -> int:
        code = SUBMIT.format(
            seed=SEED, chunks=",".join(map(str, chunks)), out=str(out), label=label
        )
        for line in self.manage("shell", "-c", code).splitlines():
            if line.startswith("RUN "):
                return int(line.split()[1])
        raise RuntimeError("the submit printed no run id")

    def wait(self, run_id: int) -> Timing:
        """The run's timing once it is recorded in results (completed_at set), from the
        database's own timestamps. Polls the file with plain sqlite3."""
        deadline = time.monotonic() + RUN_DEADLINE_SECONDS
        connection = sqlite3.connect(self.db, timeout=60)
        try:
            while True:
                created, completed = connection.execute(
                    "SELECT created_at, completed_at FROM datagen_datagenrun WHERE id = ?",
                    [run_id],
                ).fetchone()
                if completed is not None:
                    break
                if time.monotonic() > deadline or any(
                    p.poll() is not None for p in self.processes.values()
                ):
                    states = connection.execute(
                        "SELECT state, COUNT(*) FROM datagen_chunk WHERE run_id = ? GROUP BY 1",
                        [run_id],
                    ).fetchall()
                    raise RuntimeError(
                        f"run {run_id} not completed (chunks: {dict(states)}):\n" + self.logs()
                    )
                time.sleep(0.05)
            rows, chunks, succeeded, first = connection.execute(
                "SELECT SUM(rows), COUNT(*), SUM(state = 'succeeded'), MIN(started_at) "
                "FROM datagen_chunk WHERE run_id = ?",
                [run_id],
            ).fetchone()
        finally:
            connection.close()
        if succeeded != chunks:
            raise RuntimeError(f"run {run_id}: {chunks - succeeded} chunk(s) did not succeed")

        def since_submit(timestamp: str) -> float:
            return (
                datetime.fromisoformat(timestamp) - datetime.fromisoformat(created)
            ).total_seconds()

        return Timing(since_submit(completed), since_submit(first), rows)


class Timing(NamedTuple):
    seconds: float  # from submit (the run's created_at) to its completed_at
    first_chunk: float  # from submit to the first chunk's start (the setup and the queue)
    rows: int  # of every table


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """A TERM sent to the benchmark runs its finally blocks (and stops its clusters)."""
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def time_qcluster(
    spec,
    chunks: list[int],
    scratch: Path,
    repeat: int,
    extra_env: dict[str, str],
    q_cluster: dict[str, object],
) -> dict[int, Timing]:
    """Per worker count, the best timing of a run of `chunks` worked by one `manage.py
    qcluster` on its own throwaway SQLite site. The clusters are up and warmed by a small run
    (imports, first-call costs) before any clock starts, as long-lived workers are; then they
    take turns, the other one frozen, so both see the same noise from the rest of the machine."""
    warm = equatorial_chunks(spec, len(chunks) + 2 * max(QCLUSTER_WORKERS))[len(chunks) :]
    sites = {
        n: Site(
            scratch / f"qcluster-{n}",
            workers=n,
            extra_env=extra_env,
            q_cluster=q_cluster,
            manage_timeout=300,
        )
        for n in QCLUSTER_WORKERS
    }
    best: dict[int, Timing] = {}
    with sigterm_unwinds():
        try:
            for n, site in sites.items():
                site.migrate()
                site.start_cluster()
                site.wait(site.submit(warm[: 2 * n], site.folder / "warm", "warm-up"))
                site.pause(True)
            for i in range(repeat):
                for n, site in sites.items():
                    out = site.folder / f"out-{i}"
                    site.pause(False)
                    timing = site.wait(site.submit(chunks, out, f"bench {i}"))
                    site.pause(True)
                    if n not in best or timing.seconds < best[n].seconds:
                        best[n] = timing
                    shutil.rmtree(out)
        finally:
            for site in sites.values():
                site.stop_all()
    return best


def print_qcluster(
    spec,
    count: int,
    scratch: Path,
    repeat: int,
    extra_env: dict[str, str],
    q_cluster: dict[str, object],
) -> None:
    chunks = equatorial_chunks(spec, count)
    best = time_qcluster(spec, chunks, scratch, repeat, extra_env, q_cluster)
    width = 62
    env = " ".join(
        [f"{k}={v}" for k, v in extra_env.items()]
        + [f"Q_CLUSTER[{k!r}]={v!r}" for k, v in q_cluster.items()]
    )
    lines = [
        f"  manage.py qcluster, {len(chunks)}-chunk fakedb run to Parquet (ORM broker, SQLite "
        f"file, {os.cpu_count()} CPUs{', ' + env if env else ''}), submit to completed_at, "
        f"best of {repeat}:"
    ]
    for workers, timing in best.items():
        label = f"  {workers} worker{'s' if workers > 1 else ''} (ASSAY_Q_WORKERS={workers})"
        lines.append(
            f"  {label:{width}}{timing.seconds:7.3f} s {rate(len(chunks), timing.seconds):8.1f} "
            f"chunks/s {rate(timing.rows, timing.seconds):12,.0f} rows/s (all 3 tables); "
            f"first chunk started {timing.first_chunk:.3f} s after the submit"
        )
    speedup = best[1].seconds / best[2].seconds
    lines.append(
        f"  qcluster speed-up 2 workers vs 1: {speedup:.2f}x   goal >= {SPEEDUP_GOAL}x: "
        f"{verdict(speedup >= SPEEDUP_GOAL)}"
    )
    print("\n".join(lines), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=16, help="chunks for (a) (default 16)")
    parser.add_argument("--repeat", type=int, default=5, help="best of N timings (default 5)")
    parser.add_argument(
        "--workers-chunks", type=int, default=64, help="chunks for the 2-vs-1 run; 0 skips it"
    )
    parser.add_argument(
        "--qcluster-chunks",
        type=int,
        default=64,
        help="chunks of the run worked by manage.py qcluster, 1 vs 2 workers; 0 skips it",
    )
    parser.add_argument(
        "--qcluster-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for the qcluster sites (repeatable)",
    )
    parser.add_argument(
        "--q-cluster",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="a Q_CLUSTER setting for the qcluster sites, e.g. poll=0.05 (repeatable)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke sizes: --chunks 1 --repeat 1 --workers-chunks 2 --qcluster-chunks 4 "
        "--no-postgres",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one datagen pass")
    parser.add_argument("--postgres-url", default=None, help="server for the load figure")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL load")
    args = parser.parse_args(argv)
    if args.quick:
        args.chunks, args.repeat, args.workers_chunks = 1, 1, 2
        args.qcluster_chunks, args.no_postgres = min(args.qcluster_chunks, 4), True
    extra_env = dict(item.split("=", 1) for item in args.qcluster_env)
    q_cluster = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.q_cluster)}

    pa.set_cpu_count(1)  # per-core comparison: DuckDB gets one thread too
    pa.set_io_thread_count(1)
    spec = load_bundled_spec("fakedb")
    chunks = equatorial_chunks(spec, args.chunks)
    schema = spec.tables[TABLE].arrow_schema
    scratch = Path(tempfile.mkdtemp(prefix="assay-bench-datagen-"))
    try:
        generate_chunk(spec, chunks[0], SEED)  # imports and first-call costs out of the clock
        time_duckdb(schema, 1000, scratch)
        runs: dict[str, tuple[int, float, float]] = {}
        duck = float("inf")

        def keep_best(label: str, result: tuple[int, float, float]) -> None:
            if label not in runs or sum(result[1:]) < sum(runs[label][1:]):
                runs[label] = result

        for i in range(args.repeat):
            # Alternate the runs, best of each: all see the same noise from the rest of the box.
            keep_best(
                "one", time_datagen(spec, chunks, scratch / f"a{i}", fsync=False, tables=[TABLE])
            )
            keep_best(
                "all", time_datagen(spec, chunks, scratch / f"b{i}", fsync=False, tables=None)
            )
            duck = min(duck, time_duckdb(schema, runs["one"][0], scratch))
        keep_best("sync", time_datagen(spec, chunks, scratch / "c", fsync=True, tables=None))
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(
                time_datagen, spec, chunks, scratch / "profiled", fsync=False, tables=[TABLE]
            )
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)

        rows, generating, writing = runs["one"]
        anchor = rate(rows, duck)
        ours = {label: rate(rows, g + w) for label, (_, g, w) in runs.items()}
        ratio = anchor / ours["one"]
        types = ", ".join(f"{f.name} {f.type}" for f in schema)
        width = 62
        print(
            "\n".join(
                [
                    f"\n== datagen: fakedb {TABLE} to Parquet, {len(chunks)} chunks, "
                    f"{rows:,} rows ({types}) ==",
                    f"  {'anchor: DuckDB range()+random() COPY to Parquet, threads=1':{width}}"
                    f"{duck:7.3f} s {anchor:12,.0f} rows/s",
                    f"  {'datagen: generate_chunk + write_chunk ' + TABLE + ', fsync off':{width}}"
                    f"{generating + writing:7.3f} s {ours['one']:12,.0f} rows/s",
                    f"  {'  of which generate (all 3 tables, with checksums)':{width}}"
                    f"{generating:7.3f} s {rate(rows, generating):12,.0f} rows/s",
                    f"  {'  of which write Parquet':{width}}"
                    f"{writing:7.3f} s {rate(rows, writing):12,.0f} rows/s",
                    f"  ratio DuckDB / datagen per core: {ratio:.2f}x   "
                    f"goal <= {RATIO_GOAL}x: {verdict(ratio <= RATIO_GOAL)}",
                    f"  {'datagen writing all 3 tables (Object, CcdVisit too), fsync off':{width}}"
                    f"{sum(runs['all'][1:]):7.3f} s {ours['all']:12,.0f} rows/s"
                    f"   ratio {anchor / ours['all']:.2f}x",
                    f"  {'datagen writing all 3 tables, fsync on (the default)':{width}}"
                    f"{sum(runs['sync'][1:]):7.3f} s {ours['sync']:12,.0f} rows/s"
                    f"   ratio {anchor / ours['sync']:.2f}x",
                ]
            ),
            flush=True,
        )
        if args.workers_chunks > 0:
            worker_chunks = equatorial_chunks(spec, args.workers_chunks)
            one, two = time_workers(spec, worker_chunks, scratch, min(args.repeat, 3))
            speedup = one / two
            print(
                f"  2 worker processes vs 1, {len(worker_chunks)} chunks generate + write "
                f"(multiprocessing, {os.cpu_count()} CPUs): 1: {one:.2f} s, 2: {two:.2f} s, "
                f"speed-up {speedup:.2f}x   goal >= {SPEEDUP_GOAL}x: "
                f"{verdict(speedup >= SPEEDUP_GOAL)}"
            )
        if args.qcluster_chunks > 0:
            print_qcluster(spec, args.qcluster_chunks, scratch, args.repeat, extra_env, q_cluster)
        if not args.no_postgres:
            time_postgres_load(spec, chunks, args.postgres_url)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
