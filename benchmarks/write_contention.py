"""Benchmark: small imports while large ones write (issue 14, "writes never wait on a parse").

    python benchmarks/write_contention.py [--clients 4] [--cases 20000] [--seconds 60]

On a throwaway site (crashtest/harness/site.py: a fresh SQLite file, `runserver`), one client
sends small imports (5 results) one after another over the API while `--clients` clients send
large JUnit files (`--cases` results each, results/demo.py) for `--seconds`. It prints the small
imports' median and p95 latency and how many were answered 5xx, and 503 among them (a busy
database, core/db.py), next to the anchor: the same small imports on the same site for the same
time with no large import, run just before. Ratio = contention / anchor. With the parse done
outside the write transaction, the small imports wait only for large writes, not large parses.
The machine's load average is printed before and after: on a busy machine the ratio is noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crashtest.harness.imports import multipart  # noqa: E402
from crashtest.harness.site import ThrowawaySite, free_port  # noqa: E402
from results.demo import junit_document  # noqa: E402

SMALL_CASES = 5


@dataclass
class Answers:
    """The small client's answers: latency of each, and the statuses."""

    seconds: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def line(self, label: str) -> str:
        if not self.seconds:
            return f"{label}: no import answered"
        server_errors = sum(1 for s in self.statuses if s >= 500)
        busy = self.statuses.count(503)
        return (
            f"{label}: {len(self.seconds)} small imports, median {median_ms(self):,.0f} ms, "
            f"p95 {p95_ms(self):,.0f} ms, 5xx {server_errors} (503 {busy})"
        )


def median_ms(answers: Answers) -> float:
    return statistics.median(answers.seconds) * 1000


def p95_ms(answers: Answers) -> float:
    ordered = sorted(answers.seconds)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def post(url: str, token: str, run: str, document: bytes) -> int:
    body, content_type = multipart({"run": run, "project": "bench"}, [(f"{run}.xml", document)])
    request = urllib.request.Request(  # noqa: S310 (our own site)
        f"{url}/api/v1/imports/",
        data=body,
        headers={"Content-Type": content_type, "Authorization": f"Token {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:  # noqa: S310
            answer.read()
            return answer.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def small_client(url: str, token: str, label: str, stop: threading.Event) -> Answers:
    answers = Answers()
    document = junit_document(SMALL_CASES)
    n = 0
    while not stop.is_set():
        n += 1
        started = time.perf_counter()
        status = post(url, token, f"small_{label}_{n}", document)
        answers.seconds.append(time.perf_counter() - started)
        answers.statuses.append(status)
        stop.wait(0.2)  # a CI job's pace, not a flood
    return answers


def large_client(url: str, token: str, client: int, document: bytes, stop: threading.Event,
                 statuses: list[int]) -> None:  # fmt: skip
    n = 0
    while not stop.is_set():
        n += 1
        statuses.append(post(url, token, f"large_{client}_{n}", document))


def phase(url: str, token: str, label: str, seconds: float, clients: int,
          document: bytes) -> tuple[Answers, list[int]]:  # fmt: skip
    """The small client for `seconds`, with `clients` large ones alongside."""
    stop = threading.Event()
    large: list[int] = []
    threads = [
        threading.Thread(target=large_client, args=(url, token, c, document, stop, large))
        for c in range(clients)
    ]
    for thread in threads:
        thread.start()
    if clients:
        time.sleep(min(2.0, seconds / 4))  # the large clients are under way
    result: list[Answers] = []
    small = threading.Thread(target=lambda: result.append(small_client(url, token, label, stop)))
    small.start()
    time.sleep(seconds)
    stop.set()
    small.join()
    for thread in threads:
        thread.join()
    return result[0], large


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="large-import clients")
    parser.add_argument("--cases", type=int, default=20_000, help="results per large file")
    parser.add_argument("--seconds", type=float, default=60.0, help="per phase")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the site's database: the embedded SQLite file (one writer at a time) or a "
        "private PostgreSQL server, as in production",
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    large_document = junit_document(args.cases)
    print(f"large file: {args.cases:,} results, {len(large_document):,} bytes", flush=True)
    with tempfile.TemporaryDirectory(prefix="assay-bench-contention-") as scratch:
        env = {}
        pg = None
        if args.database == "postgresql":
            from crashtest.harness.postgres_server import PostgresServer

            pg = PostgresServer()
            pg.start()
            env["DATABASE_URL"] = pg.create_database("assay_bench")
        print(f"database: {args.database}", flush=True)
        site = ThrowawaySite(Path(scratch) / "site", extra_env=env)
        try:
            site.migrate()
            token = site.manage("create_ci_token", "bench").strip()
            url = site.start_web("web", free_port(), time.monotonic() + 120)
            anchor, _ = phase(url, token, "anchor", args.seconds, 0, large_document)
            print(anchor.line("anchor (no large imports)"), flush=True)
            busy, large = phase(url, token, "busy", args.seconds, args.clients, large_document)
            print(busy.line(f"with {args.clients} large-import clients"), flush=True)
        finally:
            site.stop_all()
            if pg is not None:
                pg.cleanup()
    large_errors = sum(1 for s in large if s >= 500)
    print(
        f"large imports: {len(large)} answered, {sum(1 for s in large if s == 201)} imported, "
        f"5xx {large_errors} (503 {large.count(503)})"
    )
    if anchor.seconds and busy.seconds:
        print(
            f"ratio with / without: median {median_ms(busy) / median_ms(anchor):.1f}x, "
            f"p95 {p95_ms(busy) / p95_ms(anchor):.1f}x"
        )
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*load_before))
    print("load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
