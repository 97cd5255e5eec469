"""Benchmark: what chaos costs (issue 13). The anchor is the same crash test with no nemesis,
run in the same minutes: the same workers, workloads, seed and duration.

    python benchmarks/crashtest.py [--minutes 1] [--repeat 3] [--workers 3]
        [--workload datagen,imports,querygen] [--nemesis kill,pause,grow-shrink]

Per repeat, in alternating order, a crash-free crash test and one with the nemeses
(crashtest/harness/run.py, each on its own throwaway SQLite site). For each workload: the work
completed per second during the chaos phase (datagen chunks, imports, querygen tens of queries),
and the ratio chaos / crash-free; the kills survived; and what the checks found (lost,
duplicated effects, unexpected: 0 is the goal, anything else is a bug to fix). Medians of the
repeats, and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crashtest.harness.run import CrashTest, Options  # noqa: E402

FAILING = ("lost", "duplicated effects", "unexpected")


def rates(report: dict) -> dict[str, float]:
    """Completions per second of each workload during the chaos phase."""
    chaos = next(p for p in report["phases"] if p["name"] == "chaos")
    seconds = (chaos["end"] or report["duration"]) - chaos["start"]
    return {
        workload: sum(1 for t in times if chaos["start"] <= t <= chaos["end"]) / seconds
        for workload, times in report["completions"].items()
        if workload != "start"
    }


def one(options: Options, folder: Path) -> dict:
    report = CrashTest(options, folder, lambda mark: print(mark, end="", flush=True)).run()
    print()
    if report["stopped_by"] != "time":
        raise SystemExit(f"the crash test stopped: {report['stopped_by']}: {report['errors']}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--workload", default="datagen,imports,querygen")
    parser.add_argument("--nemesis", default="kill,pause,grow-shrink")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    workloads = args.workload.split(",")
    load_before = os.getloadavg()
    free: list[dict[str, float]] = []
    chaos: list[dict[str, float]] = []
    kills, found = [], []
    with tempfile.TemporaryDirectory(prefix="assay-bench-crash-") as scratch:
        for n in range(args.repeat):
            order = ("free", "chaos") if n % 2 == 0 else ("chaos", "free")
            for kind in order:
                nemeses = [] if kind == "free" else args.nemesis.split(",")
                options = Options(
                    workers=args.workers, minutes=args.minutes, nemeses=nemeses,
                    workloads=workloads, seed=args.seed,
                )  # fmt: skip
                print(f"repeat {n + 1}, {kind}: ", end="")
                report = one(options, Path(scratch) / f"{n}-{kind}")
                (free if kind == "free" else chaos).append(rates(report))
                if kind == "chaos":
                    kills.append(report["counts"]["kills"])
                    found.append(
                        sum(
                            c["value"]
                            for c in report["checks"]
                            if c["name"] in FAILING and isinstance(c["value"], int)
                        )
                    )
    load_after = os.getloadavg()
    print()
    print(
        f"crash test: {args.workers} workers, {args.minutes:g} min, {args.repeat} repeats, "
        f"nemeses {args.nemesis}; medians (chaos phase)"
    )
    print(f"{'workload':<10} {'crash-free /s':>14} {'under chaos /s':>15} {'ratio':>7}")
    for workload in workloads:
        a = statistics.median(r.get(workload, 0.0) for r in free)
        b = statistics.median(r.get(workload, 0.0) for r in chaos)
        print(f"{workload:<10} {a:>14.1f} {b:>15.1f} {b / a if a else 0:>7.2f}")
    print(f"kills survived per run: median {statistics.median(kills):g} ({kills})")
    print(f"lost + duplicated effects + unexpected, all runs: {sum(found)} (goal 0)")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")


if __name__ == "__main__":
    main()
