"""Benchmark: gen_expected and check_expected on 100,000 expected tests.

    python benchmarks/check_expected.py [--n 100000] [--postgres-url URL | --sqlite-only]

Per database (set up as in benchmarks/results_import.py): imports an n-result run with the
import service, times gen_expected from it (n expected tests), imports a second run holding
half of those tests, then times check_expected on it (n/2 missing records; goal < 5 s) and a
second, idempotent check_expected that finds nothing to add. The anchor is the import of the
full run in the same process (the same number of rows written the ordinary way).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results_import as bench  # noqa: E402  (the sibling script: shared database set-up)

CHECK_GOAL_SECONDS = 5.0


def bench_expected(db: bench.Database, n: int) -> None:
    from results.demo import junit_document
    from results.models import TestResult
    from results.services.expected import check_expected, gen_expected
    from results.services.imports import ImportDefaults, import_files

    bench.step(f"{db.label}: importing a {n:,}-result run (the anchor)")
    full = junit_document(n)
    with bench.timed() as t_import:
        import_files([("full.xml", full)], ImportDefaults(run="bench_full", project="bench"))

    bench.step(f"{db.label}: gen_expected bench bench_full")
    with bench.timed() as t_gen:
        gen = gen_expected("bench", "bench_full")
    assert gen.added == n, (gen.added, n)

    bench.step(f"{db.label}: importing a run with every second test left out")
    half = junit_document(n, omit=range(1, n, 2))
    import_files([("half.xml", half)], ImportDefaults(run="bench_half", project="bench"))
    present = TestResult.objects.filter(run__name="bench_half").count()

    bench.step(f"{db.label}: check_expected bench bench_half")
    with bench.timed() as t_check:
        check = check_expected("bench", "bench_half")
    assert check.added == n - present, (check.added, n - present)

    bench.step(f"{db.label}: check_expected again (nothing to add)")
    with bench.timed() as t_again:
        again = check_expected("bench", "bench_half")
    assert again.added == 0

    goal = f"goal < {CHECK_GOAL_SECONDS:.0f} s"
    r_import, r_check = bench.rate(n, t_import[0]), bench.rate(check.added, t_check[0])
    lines = [
        f"\n== {db.label}: expected tests, {n:,} expected, {check.added:,} missing ==",
        _line(f"anchor: import of {n:,} results", t_import[0], f"{r_import:10,.0f} rows/s"),
        _line(
            f"gen_expected ({gen.added:,} added)",
            t_gen[0],
            f"{bench.rate(gen.added, t_gen[0]):10,.0f} rows/s",
        ),
        _line(
            f"check_expected ({check.added:,} M)",
            t_check[0],
            f"{r_check:10,.0f} rows/s   {goal}: "
            f"{bench.verdict(t_check[0], CHECK_GOAL_SECONDS, higher_is_better=False)}",
        ),
        _line(
            "check_expected again (0 added)",
            t_again[0],
            f"{'':20}{goal}: "
            f"{bench.verdict(t_again[0], CHECK_GOAL_SECONDS, higher_is_better=False)}",
        ),
        f"  ratio check_expected / import, per row: {r_check / r_import:.1f}x\n",
    ]
    print("\n".join(lines), flush=True)


def _line(label: str, seconds: float, rest: str) -> str:
    return f"  {label:<34} {seconds:7.2f} s  {rest}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="Expected tests.")
    bench.add_database_arguments(parser)
    args = parser.parse_args(argv)
    bench.for_each_database(args, lambda db: bench_expected(db, args.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
