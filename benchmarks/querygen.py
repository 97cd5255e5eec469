"""querygen: DuckDB (system under test) against SQLite (reference) on datagen's `querygen`
dataset at its default scale, in one process (one core).

Prints compared queries per second, the share of wall time spent outside the engines (our
overhead: generating, rendering, comparing), the share of generated queries the reference ran
without error (a timeout or the row limit counts against it), and the median size of reduced
queries against their originals, each next to the issue's goal. The anchor of the overhead
figure is the time inside the engines, measured in the same run. Then where the time went:
per stage (generating, rendering, each engine, comparing and the rest) and per outcome. Last,
the construct census: the share of generated queries holding each construct the generator
should write (querygen/engine/census.py), over the first 2,000 queries of the run's seed and
profile for DuckDB and SQLite (generated, not run); MISSING marks one never written.

The queries are the real generator's, from the ``fast`` profile by default (querygen/engine/
profile.py: every construct, most SELECTs on a window of ids), run on the real engines with a
timeout of 1 s and a row limit of 10,000 per query; ``--profile default`` runs the default one.

    .venv/bin/python benchmarks/querygen.py [--queries 300] [--findings 10] [--quick]
        [--profile fast] [--timeout 1.0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datagen.generator import generate_chunk, load_bundled_spec  # noqa: E402
from datagen.generator.loaders import Target, copy_between, create_tables, load_chunk  # noqa: E402
from querygen.engine import worker  # noqa: E402
from querygen.engine.census import census  # noqa: E402
from querygen.engine.compare import Kind  # noqa: E402
from querygen.engine.engines import DuckDBClient, SQLiteClient  # noqa: E402
from querygen.engine.generated import GeneratedQueries  # noqa: E402
from querygen.engine.generator import UNSUPPORTED, QueryGenerator  # noqa: E402
from querygen.engine.oracles import Differential, render  # noqa: E402
from querygen.engine.pipeline import reduce_finding  # noqa: E402
from querygen.engine.profile import PROFILES, Profile  # noqa: E402
from querygen.engine.runner import run  # noqa: E402
from querygen.engine.schema import common_schema  # noqa: E402

SEED = 20261123
TIMEOUT = 1.0  # seconds per query and engine: a timeout counts against the reference's OK share
MAX_ROWS = 10_000  # rows per answer: past it TOO_BIG, which counts against it too
QPS_GOAL = 300  # compared queries per second per core
OVERHEAD_GOAL = 0.30  # share of wall time outside the engines
OK_GOAL = 0.90  # share of queries the reference runs without error
REDUCED_GOAL = 1 / 3  # median reduced size over original size
CENSUS_QUERIES = 2000  # generated (not run) for the construct census; 400 with --quick


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def build_dataset(folder: Path) -> tuple[Path, Path]:
    """The querygen spec, every chunk, into DuckDB; copied to SQLite with keys on the ids and
    indexes on the *_id columns (as `manage.py datagen demo` does)."""
    spec = load_bundled_spec("querygen")
    duck, lite = folder / "querygen.duckdb", folder / "querygen.sqlite3"
    target = Target.duckdb(duck)
    create_tables(target, {name: t.arrow_schema for name, t in spec.tables.items()})
    for chunk_id in spec.chunk_ids():
        chunk = generate_chunk(spec, chunk_id, SEED)
        load_chunk(target, spec.name, "bench", chunk_id, chunk.tables, checksum=chunk.checksum)
    keys, indexes = spec.id_keys()
    copy_between(target, Target.sqlite(lite), primary_keys=keys, indexes=indexes)
    return duck, lite


class Timed:
    """An engine, or the generator, with the time spent in it added up (for the breakdown)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.name = getattr(inner, "name", "")
        self.dialect = getattr(inner, "dialect", "")

    load_seconds = 0.0

    def load(self, statements, **options):
        started = time.perf_counter()
        try:
            return self.inner.load(statements, **options)
        finally:
            self.load_seconds += time.perf_counter() - started

    def execute(self, sql: str, **limits):
        started = time.perf_counter()
        try:
            return self.inner.execute(sql, **limits)
        finally:
            self.seconds += time.perf_counter() - started

    def query(self, index: int):
        started = time.perf_counter()
        try:
            return self.inner.query(index)
        finally:
            self.seconds += time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--findings", type=int, default=30, help="findings to reduce")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per query")
    parser.add_argument("--max-rows", type=int, default=MAX_ROWS, help="row limit per query")
    parser.add_argument("--profile", default="fast", choices=sorted(PROFILES))
    parser.add_argument(
        "--data", default="generated", choices=("generated", "dataset"),
        help="generated (the default mode): databases of querygen's own, in memory; dataset: "
        "datagen's querygen dataset",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="a smoke run: 40 queries, 2 findings")
    args = parser.parse_args(argv)
    if args.quick:
        args.queries, args.findings = 40, 2
    generated = args.data == "generated"
    with tempfile.TemporaryDirectory(prefix="assay-bench-querygen-") as tmp:
        started = time.perf_counter()
        if generated:
            duck_path = lite_path = Path(worker.MEMORY)
            print(f"\n== querygen: DuckDB vs SQLite on databases of its own (seed {SEED}) ==")
        else:
            duck_path, lite_path = build_dataset(Path(tmp))
            print(f"\n== querygen: DuckDB vs SQLite on the querygen dataset (seed {SEED}) ==")
            print(f"  dataset built in {time.perf_counter() - started:.1f} s")
        print(f"  profile {args.profile!r}, {args.queries} queries, timeout {args.timeout:g} s, "
              f"row limit {args.max_rows} per query; load {_load()}")  # fmt: skip
        with DuckDBClient(str(duck_path)) as duck, SQLiteClient(str(lite_path)) as lite:
            profile = Profile.named(args.profile)
            dialects = (duck.dialect, lite.dialect)
            sut, ref = Timed(duck), Timed(lite)
            source = None
            if generated:
                source = GeneratedQueries([sut, ref], profile, seed=SEED, timeout=args.timeout)  # type: ignore[list-item]
                generator = Timed(source)
                schema = source.database(0).schema
            else:
                schema = common_schema(duck, lite)
                generator = Timed(QueryGenerator(schema, profile, seed=SEED, dialects=dialects))
            oracle = TimedOracle(
                Differential(sut, ref, timeout=args.timeout, max_rows=args.max_rows)
            )
            findings = []
            cpu_started = time.process_time()
            stats = run(
                oracle,
                generator,  # type: ignore[arg-type]
                budget_queries=args.queries,
                budget_seconds=None,
                on_finding=findings.append,
            )
            print(f"  {stats.summary()}")
            # The run is one process on one core (DuckDB on one thread): its CPU time is the
            # core's time, whatever else the machine runs; wall time also counts the waits.
            cpu = time.process_time() - cpu_started
            qps = stats.queries / max(1e-9, cpu)
            print(f"  compared queries per CPU second (one core): {qps:8.1f}   "
                  f"goal >= {QPS_GOAL}: {verdict(qps >= QPS_GOAL)}")  # fmt: skip
            print(f"  compared queries per wall second:           {stats.queries_per_second:8.1f}"
                  f"   (CPU {cpu:.1f} s of {stats.wall_seconds:.1f} s wall)")  # fmt: skip
            share = stats.overhead_share
            print(f"  wall time outside the engines:        {share:8.1%}   "
                  f"goal < {OVERHEAD_GOAL:.0%}: {verdict(share < OVERHEAD_GOAL)}")  # fmt: skip
            ok = stats.reference_ok_share
            print(f"  queries the reference answered (no error, timeout or limit): {ok:5.1%}   "
                  f"goal >= {OK_GOAL:.0%}: {verdict(ok >= OK_GOAL)}")  # fmt: skip
            print_breakdown(stats, oracle, generator, sut, ref)
            # Untimed engines: the reductions stay out of the breakdown above.
            plain = Differential(duck, lite, timeout=args.timeout, max_rows=args.max_rows)
            raw = stats.queries / max(1e-9, sut.seconds + ref.seconds)
            print(f"  the same queries in the engines alone:  {raw:8.1f} per second "
                  f"(SUT {sut.seconds / max(1, stats.queries) * 1000:.2f} ms, reference "
                  f"{ref.seconds / max(1, stats.queries) * 1000:.2f} ms a query)")  # fmt: skip
            reduced = reduce_findings(plain, findings[: args.findings], schema, source)
            ratios = [r.ratio for r in reduced if r.reduced]
            if ratios:
                median = statistics.median(ratios)
                print(f"  reduced/original size, median of {len(ratios)} findings: {median:5.2f}   "
                      f"goal <= 0.33: {verdict(median <= REDUCED_GOAL)}")  # fmt: skip
                groups = len({r.signature for r in reduced})
                print(f"  {len(reduced)} findings reduced and signed: {groups} groups "
                      f"({len(reduced) - len(ratios)} could not be reduced)")  # fmt: skip
            else:
                print("  reduced/original size: no finding to reduce in this run")
            queries = 400 if args.quick else CENSUS_QUERIES
            if generated:  # over the databases that many queries span, none loaded
                make = GeneratedQueries([duck, lite], profile, seed=SEED).generate  # type: ignore[list-item]
            else:
                make = QueryGenerator(schema, profile, seed=SEED, dialects=dialects).query
            print_census(make, dialects, queries)
    return 0


class TimedOracle:
    """The oracle, with each check's outcome, time and query kept (for the breakdown)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.checks: list[tuple[Kind, float, object]] = []

    def check(self, query):
        started = time.perf_counter()
        check = self.inner.check(query)
        self.checks.append((check.kind, time.perf_counter() - started, query.tree))
        return check


def print_breakdown(stats, oracle: TimedOracle, gen: Timed, sut: Timed, ref: Timed) -> None:
    """Per stage and per outcome. Rendering is timed again on the run's queries (no engine
    runs); comparing is what is left of the checks' time, bookkeeping of the wall time."""
    n = max(1, stats.queries)
    started = time.perf_counter()
    for _, _, tree in oracle.checks:
        render(tree, sut.dialect)
        render(tree, ref.dialect)
    render_seconds = time.perf_counter() - started
    checks_seconds = sum(seconds for _, seconds, _ in oracle.checks)
    compare_seconds = checks_seconds - render_seconds - sut.seconds - ref.seconds
    loading = sut.load_seconds + ref.load_seconds
    rest = stats.wall_seconds - gen.seconds - checks_seconds
    print("  time per query by stage (ms, share of the wall time):")
    for label, seconds in (
        ("generating", gen.seconds - loading),
        ("loading generated databases (engines)", loading),
        (f"rendering ({sut.dialect} and {ref.dialect})", render_seconds),
        (f"SUT: {sut.name}", sut.seconds),
        (f"reference: {ref.name}", ref.seconds),
        ("comparing", compare_seconds),
        ("the run's bookkeeping", rest),
    ):
        print(f"    {label:40s} {seconds / n * 1000:7.2f}  {seconds / stats.wall_seconds:6.1%}")
    print("  time by outcome (queries, seconds, share of the wall time):")
    kinds: dict[Kind, list[float]] = {}
    for kind, seconds, _ in oracle.checks:
        kinds.setdefault(kind, []).append(seconds)
    for kind, times in sorted(kinds.items(), key=lambda item: -sum(item[1])):
        total = sum(times)
        print(
            f"    {kind.value:12s} {len(times):5d} {total:8.2f}  {total / stats.wall_seconds:6.1%}"
        )


def print_census(make, dialects: tuple[str, ...], queries: int) -> None:
    """The share of the first ``queries`` queries of the run's seed holding each construct
    (``make(i)``: query i generated for ``dialects`` as the run makes it, not run); MISSING
    marks a construct none holds."""
    shares = census(make(i).tree for i in range(queries))
    lacking = {c: d for d in dialects for c in UNSUPPORTED.get(d, ())}
    print(f"  constructs in {queries} generated queries ({' and '.join(dialects)}), "
          "share of the queries holding each:")  # fmt: skip
    for name, share in shares.items():
        mark = ""
        if share == 0:
            mark = f"  MISSING ({lacking[name]} lacks it)" if name in lacking else "  MISSING"
        print(f"    {name:30s} {share:6.1%}{mark}")


def reduce_findings(oracle, findings, schema, source=None) -> list:
    """Each finding as the app handles it (querygen.engine.pipeline): reduced while the oracle
    still fails the same way (its database too, on generated databases), then signed."""
    return [
        reduce_finding(oracle, f, schema=schema, max_checks=200, source=source) for f in findings
    ]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
