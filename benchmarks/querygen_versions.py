"""querygen as a DuckDB developer would use it: an old DuckDB release from PyPI (the system under
test, in a virtualenv of its own) against the current one (the reference), for the same minutes
as the anchor, a plain random SQL generator of a few hundred lines (benchmarks/naive_sqlgen.py:
random SQL over a few small integer tables, no reduction, no grouping).

Both run on databases of their own, in memory on both sides. Every finding's reproducer (its
database and query: querygen's reduced ones, the anchor's as found) is then bisected over the
ladder of DuckDB releases between the two (querygen/engine/releases.py, bisect.py): the release
where it stops failing for good. Distinct bugs are counted the same way for both: findings that
stop failing at the same release and share their construct core (querygen/engine/census.py on
the query) count once; findings that never stop failing, or that the old release does not fail
when bisected, count as unbisected. Findings where the reference itself crashed are bugs of the
new release, not of the old one (bisect.py): counted apart, with the release they came in.

Prints, for each: compared queries per second, raw mismatches (both answered, differently),
errors on one side, crashes, findings, distinct bugs; then the distinct bugs with an example;
and for querygen whether every group's reproducer does, run again, what its group claims
(bisect.reproduces): a bug of the old release fails on it and passes on the new; a crash of the
new release crashes it again. Those that do not are listed with why (--keep-failed writes them
out to be replayed by hand). Goal: querygen finds more distinct bugs than the anchor.

    .venv/bin/python benchmarks/querygen_versions.py [--old 0.9.2] [--seconds 300] [--seed 1]
        [--quick] [--no-anchor] [--keep-failed DIR]

The releases are installed once into the release cache ($ASSAY_RELEASE_CACHE, else
~/.cache/assay/releases); `make bench` runs this with its defaults (5 minutes per tool).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import sqlglot  # noqa: E402
from sqlglot.errors import SqlglotError  # noqa: E402

from benchmarks.naive_sqlgen import run_naive  # noqa: E402
from querygen.engine import worker  # noqa: E402
from querygen.engine.bisect import (  # noqa: E402
    fixed_in,
    introduced_in,
    reference_crashed,
    reproduces,
    scan,
)
from querygen.engine.census import constructs  # noqa: E402
from querygen.engine.engines import DuckDBClient, EngineClient, IsolatedClient  # noqa: E402
from querygen.engine.generated import GeneratedQueries  # noqa: E402
from querygen.engine.model import Outcome  # noqa: E402
from querygen.engine.oracles import Differential  # noqa: E402
from querygen.engine.pipeline import check_tree, difference_key, reduce_finding  # noqa: E402
from querygen.engine.profile import Profile  # noqa: E402
from querygen.engine.releases import ensure_release, ladder_between, version_key  # noqa: E402
from querygen.engine.runner import FailedCheck, make_finding, run  # noqa: E402

TIMEOUT = 2.0
MAX_ROWS = 10_000
MAX_BISECTED = 400  # findings bisected per tool (the rest are counted, not bisected)
REDUCE_SHARE, REDUCE_GRACE = 0.5, 10.0
SHOWN = 6  # bugs shown per release
JUDGE_CHECKS = 400  # the judge's reduction of each reproducer, for its construct core


@dataclass
class Reproducer:
    statements: list[str]
    sql: str
    expected: Outcome  # the reference's answer
    kind: str


@dataclass
class Tally:
    name: str
    queries: int = 0
    seconds: float = 0.0
    mismatches: int = 0
    errors: int = 0
    crashes: int = 0
    findings: int = 0
    groups: int = 0
    reproducers: list[Reproducer] = field(default_factory=list)
    bugs: dict[tuple[str, str, frozenset[str]], list[Reproducer]] = field(default_factory=dict)
    unbisected: int = 0
    # Crashes of the reference: bugs of the new release, by the release they came in ("" when
    # the ladder's last release does not crash so).
    introduced: Counter[str] = field(default_factory=Counter)
    fail_old_pass_new: int = 0  # groups of the old release's bugs whose reproducer does so
    old_bug_groups: int = 0
    new_crashes_again: int = 0  # groups of the new release's crashes whose reproducer does so
    new_bug_groups: int = 0
    checked_groups: int = 0
    not_reproduced: list[tuple[Reproducer, str]] = field(default_factory=list)  # and why
    reduced_ratios: list[float] = field(default_factory=list)
    rows_left: list[int] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.queries / self.seconds if self.seconds else 0.0


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_querygen(sut: EngineClient, ref: EngineClient, seconds: float, seed: int) -> Tally:
    """querygen's default mode, reductions inside the same time budget (they are its work)."""
    tally = Tally("querygen")
    source = GeneratedQueries([sut, ref], Profile(), seed=seed, timeout=TIMEOUT)
    oracle = Differential(sut, ref, timeout=TIMEOUT, max_rows=MAX_ROWS)
    deadline = time.monotonic() + seconds
    groups: dict[str, Reproducer] = {}  # by the reduced query's signature
    seen: set[str] = set()  # raw signatures: a query seen before is not reduced again
    differences: set[str] = set()
    last = [time.monotonic()]

    started = time.monotonic()
    spent = [0.0]  # seconds reducing

    def on_finding(finding: FailedCheck) -> None:
        tally.findings += 1
        # The app's grouping (services/runs.py): a query seen before, or answers that differ
        # as an earlier finding's did (pipeline.difference_key), join that group unreduced.
        difference = difference_key(finding.check)
        if finding.signature in seen or difference in differences or len(groups) >= MAX_BISECTED:
            return
        if difference is not None:
            differences.add(difference)
        # The app's rule (services/runs.py): reductions take at most half the wall time.
        if spent[0] > REDUCE_SHARE * (time.monotonic() - started) + REDUCE_GRACE:
            return
        seen.add(finding.signature)
        began = time.monotonic()
        reduced = reduce_finding(oracle, finding, source=source, deadline=deadline)
        spent[0] += time.monotonic() - began
        if reduced.signature in groups or reduced.database is None:
            return
        tally.reduced_ratios.append(reduced.ratio)
        tally.rows_left.append(reduced.database.rows)
        sides = list(reduced.check.sql)
        groups[reduced.signature] = Reproducer(
            reduced.database.statements("duckdb"),
            reduced.check.sql[sides[0]],
            reduced.check.outcomes[sides[1]],
            reduced.check.kind.value,
        )

    def progress(stats) -> None:
        if time.monotonic() - last[0] > 15:
            last[0] = time.monotonic()
            say(f"  querygen: {stats.queries} queries, {tally.findings} findings")

    stats = run(
        oracle, source, budget_queries=None, budget_seconds=seconds,
        on_finding=on_finding, progress=progress,
    )  # fmt: skip
    tally.queries, tally.seconds = stats.queries, stats.wall_seconds
    tally.mismatches = stats.row_counts + stats.contents
    tally.errors, tally.crashes = stats.errors, stats.crashes
    tally.reproducers = list(groups.values())
    tally.groups = len(groups)
    return tally


def run_anchor(sut: EngineClient, ref: EngineClient, seconds: float, seed: int) -> Tally:
    tally = Tally("naive random SQL (anchor)")
    result = run_naive(sut, ref, seconds, seed, timeout=TIMEOUT, max_rows=MAX_ROWS)
    tally.queries, tally.seconds = result.queries, result.seconds
    tally.mismatches, tally.errors, tally.crashes = (
        result.mismatches,
        result.errors,
        result.crashes,
    )
    tally.findings = len(result.findings)
    tally.reproducers = [
        Reproducer(f.statements, f.sql, f.ref, f.comparison.kind.value)
        for f in result.findings[:MAX_BISECTED]
    ]
    return tally


def core(r: Reproducer, old: EngineClient, new: EngineClient) -> frozenset[str]:
    """The constructs of the reproducer's query once the same reducer (querygen's, the judge
    here, not a tool) has taken away what the difference does not need: the anchor's queries
    arrive unreduced, and the constructs of a whole query would count one bug many times."""
    try:
        tree = sqlglot.parse_one(r.sql, read="duckdb")
    except SqlglotError:
        return frozenset({"unparsed"})
    oracle = Differential(old, new, timeout=TIMEOUT, max_rows=MAX_ROWS)
    if not (old.load(r.statements).ok and new.load(r.statements).ok):
        return frozenset(constructs(tree))
    check = check_tree(oracle, tree, 0, 0)
    if not check.finding:
        return frozenset(constructs(tree))
    reduced = reduce_finding(oracle, make_finding(check, 0, 0, []), max_checks=JUDGE_CHECKS)
    return frozenset(constructs(reduced.tree))


def kind_class(kind: str) -> str:
    return {"row_count": "wrong result", "content": "wrong result"}.get(kind, kind)


def bisect_all(
    tally: Tally, ladder: list[tuple[str, EngineClient]], old: str, new: EngineClient
) -> None:
    """Each reproducer over the ladder (the old release first): distinct bugs by (fixed-in
    release, kind, construct core); a reproducer the old release does not fail, or that never
    stops failing, is unbisected. One the reference crashed on is the new release's bug:
    counted by the release it came in, never fixed, not the old release's."""
    for n, r in enumerate(tally.reproducers, 1):
        if n % 25 == 0:
            say(f"  bisecting {tally.name}: {n}/{len(tally.reproducers)}")
        steps = scan(ladder, r.statements, r.sql, r.expected, timeout=TIMEOUT, max_rows=MAX_ROWS)
        if reference_crashed(r.expected):
            tally.introduced[introduced_in(steps, r.expected) or ""] += 1
            continue
        release = fixed_in(steps)
        old_fails = bool(steps) and steps[0].release == old and not steps[0].passed
        if release is None or not old_fails:
            tally.unbisected += 1
            continue
        key = (release, kind_class(r.kind), core(r, ladder[0][1], new))
        tally.bugs.setdefault(key, []).append(r)


def check_groups(
    tally: Tally, old_engine: EngineClient, new_engine: EngineClient, old: str, new: str
) -> None:
    """Every reproducer, run again on the old release and the new (the reference), does what
    its group claims (bisect.reproduces); one that does not is kept with why, to be shown: a
    reproducer that does not reproduce is a bug of querygen's, not noise to count away."""
    for r in tally.reproducers:
        tally.checked_groups += 1
        steps = scan(
            [(old, old_engine), (new, new_engine)], r.statements, r.sql, r.expected,
            timeout=TIMEOUT, max_rows=MAX_ROWS,
        )  # fmt: skip
        ok, why = reproduces(steps[0], steps[1], r.expected)
        if reference_crashed(r.expected):
            tally.new_bug_groups += 1
            tally.new_crashes_again += ok
        else:
            tally.old_bug_groups += 1
            tally.fail_old_pass_new += ok
        if not ok:
            tally.not_reproduced.append((r, why))


def keep_not_reproduced(tally: Tally, directory: Path) -> None:
    """Each reproducer that did not reproduce, as JSON, to be replayed by hand."""
    directory.mkdir(parents=True, exist_ok=True)
    for n, (r, why) in enumerate(tally.not_reproduced, 1):
        record = {
            "why": why,
            "kind": r.kind,
            "statements": r.statements,
            "sql": r.sql,
            "expected": {
                "status": r.expected.status.value,
                "rows": [list(map(repr, row)) for row in r.expected.rows[:50]],
                "error": r.expected.error,
            },
        }
        (directory / f"reproducer-{n}.json").write_text(json.dumps(record, indent=1))


def report(tallies: Sequence[Tally], old: str, new: str, load: str) -> None:
    print(f"\n== querygen vs a naive random generator: DuckDB {old} (SUT) vs {new} (reference) ==")
    print(f"load average before: {load}")
    header = (
        f"{'':28} {'q/s':>7} {'queries':>8} {'mismatch':>9} {'err 1 side':>10} "
        f"{'crashes':>8} {'findings':>9} {'distinct bugs':>14} {'unbisected':>11} "
        f"{'new crashes':>11}"
    )
    print(header)
    for t in tallies:
        print(
            f"{t.name:28} {t.per_second:7.0f} {t.queries:8d} {t.mismatches:9d} {t.errors:10d} "
            f"{t.crashes:8d} {t.findings:9d} {len(t.bugs):14d} {t.unbisected:11d} "
            f"{sum(t.introduced.values()):11d}"
        )
    if len(tallies) < 2:  # --no-anchor
        tallies = [*tallies, Tally("(anchor not run)")]
    ours, anchor = tallies
    ratio = len(ours.bugs) / len(anchor.bugs) if anchor.bugs else float("inf")
    goal = "MET" if len(ours.bugs) > len(anchor.bugs) else "MISSED"
    print(f"distinct bugs, querygen / anchor: {len(ours.bugs)} / {len(anchor.bugs)} = "
          f"{ratio:.2f}x (goal: more than the anchor) {goal}")  # fmt: skip
    for cls in ("wrong result", "error", "crash"):
        a = sum(1 for k in ours.bugs if k[1] == cls)
        b = sum(1 for k in anchor.bugs if k[1] == cls)
        print(f"  {cls}: querygen {a}, anchor {b}")
    if ours.reduced_ratios:
        print(
            f"querygen: {ours.groups} groups; median reduced/original query size "
            f"{statistics.median(ours.reduced_ratios):.2f} (goal <= 0.33), median rows left "
            f"{statistics.median(ours.rows_left):g} (goal <= 5)"
        )
    if ours.checked_groups:
        reproduced = ours.fail_old_pass_new + ours.new_crashes_again
        print(
            f"querygen: reproducers that do what their group claims, run again: "
            f"{reproduced}/{ours.checked_groups}; {old}'s bugs failing on {old} and passing on "
            f"{new}: {ours.fail_old_pass_new}/{ours.old_bug_groups}; {new}'s own crashes (the "
            f"reference crashed: nothing to pass on {new}) crashing {new} again: "
            f"{ours.new_crashes_again}/{ours.new_bug_groups}"
        )
    for r, why in ours.not_reproduced:
        print(f"  not reproduced ({r.kind}): {why}")
        print(f"    {r.sql[:300]}")
    for t in tallies:
        if t.introduced:
            came = ", ".join(
                f"{release or 'not on the last release of the ladder'}: {n}"
                for release, n in sorted(t.introduced.items(), key=_introduced_order)
            )
            print(f"{t.name}: crashes of {new} (reproducers), by the release they came in: {came}")
    for t in tallies:
        print(f"\n-- {t.name}: distinct bugs by the release that fixed them --")
        by_release = defaultdict(list)
        for (release, cls, cores), found in t.bugs.items():
            by_release[release].append((cls, cores, found))
        for release in sorted(by_release, key=version_key):
            print(f"  fixed in {release}: {len(by_release[release])}")
            for cls, cores, found in sorted(by_release[release], key=lambda x: x[0])[:SHOWN]:
                print(f"    {cls} [{', '.join(sorted(cores)) or '-'}] x{len(found)}")
                print(f"      {found[0].sql[:160]}")


def _introduced_order(item: tuple[str, int]) -> tuple[bool, tuple]:
    return item[0] == "", version_key(item[0]) if item[0] else ()  # "" last


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="0.9.2", help="the old DuckDB release (SUT)")
    parser.add_argument("--seconds", type=float, default=300.0, help="per tool")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="30 seconds per tool")
    parser.add_argument(
        "--ladder", default="", help="releases to bisect over, comma-separated (default: every "
        "minor line from --old to the installed DuckDB)"
    )  # fmt: skip
    parser.add_argument(
        "--no-anchor", action="store_true", help="querygen only (the comparison is then moot)"
    )
    parser.add_argument(
        "--keep-failed", type=Path, metavar="DIR",
        help="write each reproducer that does not do what its group claims as JSON into DIR",
    )  # fmt: skip
    args = parser.parse_args(argv)
    seconds = 30.0 if args.quick else args.seconds
    new = duckdb.__version__
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    releases = [v for v in args.ladder.split(",") if v] or ladder_between(args.old, new)
    say(f"releases: {args.old} (SUT), ladder {', '.join(releases)} (installing once, cached)")
    pythons = {v: ensure_release("duckdb", v, progress=say) for v in [args.old, *releases]}
    engines = {
        v: IsolatedClient(p, "duckdb", worker.MEMORY, name=f"duckdb {v}")
        for v, p in pythons.items()
    }
    ladder = [(v, engines[v]) for v in [args.old, *releases]]
    tallies = []
    try:
        with DuckDBClient(worker.MEMORY, name=f"duckdb {new}") as ref:
            say(f"querygen: {seconds:g} s")
            tallies.append(run_querygen(engines[args.old], ref, seconds, args.seed))
            if not args.no_anchor:
                say(f"anchor: {seconds:g} s")
                tallies.append(run_anchor(engines[args.old], ref, seconds, args.seed))
            for t in tallies:
                bisect_all(t, ladder, args.old, ref)
            check_groups(tallies[0], engines[args.old], ref, args.old, new)
            if args.keep_failed:
                keep_not_reproduced(tallies[0], args.keep_failed)
    finally:
        for engine in engines.values():
            engine.close()
    report(tallies, args.old, new, load)
    if len(tallies) > 1:
        kinds = Counter(r.kind for r in tallies[1].reproducers)
        print(f"\nanchor findings by kind: {dict(kinds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
