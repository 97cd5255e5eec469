"""querygen: DuckDB (system under test) against SQLite (reference) on datagen's `querygen`
dataset at its default scale, in one process (one core).

Prints compared queries per second, the share of wall time spent outside the engines (our
overhead: generating, rendering, comparing), the share of generated queries the reference ran
without error, and the median size of reduced queries against their originals, each next to
the issue's goal. The anchor of the overhead figure is the time inside the engines, measured in
the same run.

    .venv/bin/python benchmarks/querygen.py [--queries 300] [--findings 10] [--quick]
"""

from __future__ import annotations

import argparse
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
from querygen.engine.compare import Kind, Side, compare  # noqa: E402
from querygen.engine.engines import DuckDBEngine, SQLiteEngine  # noqa: E402
from querygen.engine.generator import QueryGenerator  # noqa: E402
from querygen.engine.oracles import Differential  # noqa: E402
from querygen.engine.reduce import reduce  # noqa: E402
from querygen.engine.runner import run  # noqa: E402
from querygen.engine.schema import common_schema  # noqa: E402
from querygen.engine.signature import normalize_error  # noqa: E402

SEED = 20261123
QPS_GOAL = 300  # compared queries per second per core
OVERHEAD_GOAL = 0.30  # share of wall time outside the engines
OK_GOAL = 0.90  # share of queries the reference runs without error
REDUCED_GOAL = 1 / 3  # median reduced size over original size


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--findings", type=int, default=10, help="findings to reduce")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds per query")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 40 queries, 2 findings")
    args = parser.parse_args(argv)
    if args.quick:
        args.queries, args.findings = 40, 2
    with tempfile.TemporaryDirectory(prefix="assay-bench-querygen-") as tmp:
        started = time.perf_counter()
        duck_path, lite_path = build_dataset(Path(tmp))
        print(f"\n== querygen: DuckDB vs SQLite on the querygen dataset (seed {SEED}) ==")
        print(f"  dataset built in {time.perf_counter() - started:.1f} s")
        with DuckDBEngine(duck_path) as duck, SQLiteEngine(lite_path) as lite:
            generator = QueryGenerator(common_schema(duck, lite), seed=SEED)
            oracle = Differential(duck, lite, timeout=args.timeout)
            findings = []
            stats = run(
                oracle,
                generator,
                budget_queries=args.queries,
                budget_seconds=None,
                on_finding=findings.append,
            )
            print(f"  {stats.summary()}")
            qps = stats.queries_per_second
            print(f"  compared queries per second, one core: {qps:8.1f}   "
                  f"goal >= {QPS_GOAL}: {verdict(qps >= QPS_GOAL)}")  # fmt: skip
            share = stats.overhead_share
            print(f"  wall time outside the engines:        {share:8.1%}   "
                  f"goal < {OVERHEAD_GOAL:.0%}: {verdict(share < OVERHEAD_GOAL)}")  # fmt: skip
            ok = stats.reference_ok_share
            print(f"  queries the reference answered (no error, timeout or limit): {ok:5.1%}   "
                  f"goal >= {OK_GOAL:.0%}: {verdict(ok >= OK_GOAL)}")  # fmt: skip
            ratios = reduce_findings(duck, lite, findings[: args.findings], args.timeout)
            if ratios:
                median = statistics.median(ratios)
                print(f"  reduced/original size, median of {len(ratios)} findings: {median:5.2f}   "
                      f"goal <= 0.33: {verdict(median <= REDUCED_GOAL)}")  # fmt: skip
            else:
                print("  reduced/original size: no finding to reduce in this run")
    return 0


def reduce_findings(duck, lite, findings, timeout: float) -> list[float]:
    """Reduce each finding while DuckDB and SQLite still disagree the same way."""

    def outcome(tree):
        sut = duck.execute(tree.sql(dialect=duck.dialect), timeout=timeout, max_rows=5000)
        ref = lite.execute(tree.sql(dialect=lite.dialect), timeout=timeout, max_rows=5000)
        c = compare(sut, ref)
        error = c.sut_error if c.side is Side.SUT else c.ref_error if c.side else ""
        return c.kind, c.side, normalize_error(error or "")

    ratios = []
    for finding in findings:
        tree = finding.check.tree
        wanted = outcome(tree)
        if not wanted[0].finding or wanted[0] == Kind.TIMEOUT:
            continue  # not reproducible without the run's ORDER BY keys, or flaky: skip
        result = reduce(tree, lambda candidate, w=wanted: outcome(candidate) == w, max_checks=200)
        ratios.append(result.reduced_size / result.original_size)
    return ratios


if __name__ == "__main__":
    sys.exit(main())
