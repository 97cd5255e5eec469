"""Sample result files: the demo data of `manage.py load_demo`, and the benchmarks' input.

Pure writers (no Django): each returns the text of a file in one of the formats the importers
read (JUnit XML, Pandokia pdk logs, Assay JSON). Everything is deterministic for a seed, so
tests can predict the counts, and fast (plain string building, no XML DOM): the import
benchmark makes a 100,000-testcase JUnit file in about a second.
"""

from __future__ import annotations

import json
import random
from collections.abc import Container, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

# Word lists for dotted test names: package.module.Class.test, so the tree view has depth.
_PACKAGES = ["storage", "query", "planner", "txn", "replication", "catalog", "index", "wal"]
_MODULES = ["test_basic", "test_limits", "test_concurrency", "test_recovery", "test_types"]
_CLASSES = ["TestCreate", "TestRead", "TestUpdate", "TestDelete", "TestScan", "TestMerge"]
_VERBS = ["insert", "select", "update", "delete", "merge", "scan", "vacuum", "restore"]
_OBJECTS = ["empty", "one_row", "many_rows", "nulls", "unicode", "big_values", "wide", "nested"]

_FAILURES = [
    ("AssertionError: assert 3 == 4", "assert rows == expected\nE       assert 3 == 4"),
    (
        "AssertionError: row mismatch at offset 17",
        "expected: (17, 'b', NULL)\nactual:   (17, 'b', '')\nE       row mismatch at offset 17",
    ),
    ("TimeoutError: query ran longer than 30 s", "cursor.execute(sql)\nE       TimeoutError"),
    (
        "AssertionError: plan changed: Seq Scan instead of Index Scan",
        "EXPLAIN SELECT * FROM t WHERE k = 1\n  Seq Scan on t\nE       plan changed",
    ),
]
_ERRORS = [
    ("ConnectionError: server closed the connection", "conn.commit()\nE       ConnectionError"),
    ("fixture 'big_table' raised OSError: [Errno 28] No space left on device", "OSError: 28"),
]
_SKIPS = ["needs a server with TLS", "feature flag off on this build", "flaky: see QA-1432"]

# Statuses by position: residues chosen so that, with the default periods, no test is picked
# twice and n a multiple of the periods gives exact counts (1000 -> 20 F, 5 E, 10 D).


def _status(i: int, fail_every: int, error_every: int, skip_every: int) -> str:
    if error_every and i % error_every == error_every - 1:
        return "E"
    if fail_every and i % fail_every == fail_every // 2:
        return "F"
    if skip_every and i % skip_every == skip_every // 3:
        return "D"
    return "P"


def status_counts(
    n: int, *, seed: int = 0, fail_every: int = 50, error_every: int = 200, skip_every: int = 100
) -> dict[str, int]:
    """The statuses junit_document (and the other writers) give n tests, counted."""
    counts: dict[str, int] = {}
    for i in range(n):
        s = _status(i + seed, fail_every, error_every, skip_every)
        counts[s] = counts.get(s, 0) + 1
    return counts


def demo_test_names(
    n: int, *, classes: int | None = None, root: str = "tests"
) -> list[tuple[str, str]]:
    """(classname, name) of n tests spread over `classes` classes (default: ~20 tests each),
    classnames `root.package.module.Class`. The same n and classes give the same names."""
    classes = max(1, classes if classes is not None else -(-n // 20))
    per_class = -(-n // classes)
    combos = len(_VERBS) * len(_OBJECTS)
    width = len(_PACKAGES) * len(_MODULES) * len(_CLASSES)
    names: list[tuple[str, str]] = []
    for c in range(classes):
        start = c * per_class
        if start >= n:
            break
        cls = (
            f"{root}.{_PACKAGES[c % len(_PACKAGES)]}"
            f".{_MODULES[(c // len(_PACKAGES)) % len(_MODULES)]}"
            f".{_CLASSES[(c // (len(_PACKAGES) * len(_MODULES))) % len(_CLASSES)]}"
        )
        if c >= width:  # more classes than word combinations: number them
            cls += str(c // width)
        for j in range(min(per_class, n - start)):
            name = f"test_{_VERBS[j % len(_VERBS)]}_{_OBJECTS[(j // len(_VERBS)) % len(_OBJECTS)]}"
            if j >= combos:
                name += f"_{j // combos}"
            names.append((cls, name))
    return names


@dataclass(frozen=True)
class _Case:
    classname: str
    name: str
    status: str
    duration: float
    message: str  # failure/error/skip message
    text: str  # failure/error detail (multi-line)
    stdout: str


def _cases(
    n: int,
    seed: int,
    fail_every: int,
    error_every: int,
    skip_every: int,
    classes: int | None,
    omit: Container[int] = (),
    root: str = "tests",
) -> Iterator[_Case]:
    rng = random.Random(seed)
    for i, (classname, name) in enumerate(demo_test_names(n, classes=classes, root=root)):
        if i in omit:
            continue
        status = _status(i + seed, fail_every, error_every, skip_every)
        duration = round(rng.expovariate(20.0), 4)  # mostly fast, a few slow ones
        message = text = stdout = ""
        if status == "F":
            message, text = _FAILURES[rng.randrange(len(_FAILURES))]
        elif status == "E":
            message, text = _ERRORS[rng.randrange(len(_ERRORS))]
        elif status == "D":
            message = _SKIPS[rng.randrange(len(_SKIPS))]
            duration = 0.0
        if status != "P" or i % 97 == 0:
            stdout = f"connecting to db{i % 4}.lab:5432\nrows loaded: {rng.randrange(10_000)}"
        yield _Case(classname, name, status, duration, message, text, stdout)


def junit_document(
    n: int,
    *,
    seed: int = 0,
    fail_every: int = 50,
    error_every: int = 200,
    skip_every: int = 100,
    classes: int | None = None,
    suite: str = "demo",
    hostname: str = "build-01",
    timestamp: datetime | None = None,
    properties: dict[str, str] | None = None,
    omit: Container[int] = (),
) -> bytes:
    """A pytest-style (xunit2) JUnit XML document of n testcases.

    Statuses: every `fail_every`-th test fails (F), every `error_every`-th errors (E), every
    `skip_every`-th is skipped (D); status_counts() says how many of each. `seed` rotates which
    tests those are and varies durations and messages. Tests whose index is in `omit` are left
    out (tests that stopped running), the others keep their names and statuses."""
    timestamp = timestamp or datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    cases = list(_cases(n, seed, fail_every, error_every, skip_every, classes, omit))
    counts = {"F": 0, "E": 0, "D": 0}
    total_time = 0.0
    body: list[str] = []
    append = body.append
    for case in cases:
        total_time += case.duration
        head = (
            f'<testcase classname="{case.classname}" name="{case.name}" time="{case.duration:.4f}"'
        )
        if case.status == "P" and not case.stdout:
            append(head + " />")
            continue
        parts = [head + ">"]
        if case.status == "F":
            counts["F"] += 1
            parts.append(
                f"<failure message={quoteattr(case.message)}>{escape(case.text)}</failure>"
            )
        elif case.status == "E":
            counts["E"] += 1
            parts.append(f"<error message={quoteattr(case.message)}>{escape(case.text)}</error>")
        elif case.status == "D":
            counts["D"] += 1
            parts.append(
                f'<skipped type="pytest.skip" message={quoteattr(case.message)}>'
                f"{escape(case.message)}</skipped>"
            )
        if case.stdout:
            parts.append(f"<system-out>{escape(case.stdout)}</system-out>")
        parts.append("</testcase>")
        append("".join(parts))
    props = ""
    if properties:
        props = (
            "<properties>"
            + "".join(
                f"<property name={quoteattr(k)} value={quoteattr(v)} />"
                for k, v in properties.items()
            )
            + "</properties>"
        )
    suite_open = (
        f'<testsuite name={quoteattr(suite)} errors="{counts["E"]}" '
        f'failures="{counts["F"]}" skipped="{counts["D"]}" tests="{len(cases)}" '
        f'time="{total_time:.3f}" timestamp="{timestamp.isoformat()}" '
        f"hostname={quoteattr(hostname)}>"
    )
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n<testsuites>'
        + suite_open
        + props
        + "\n".join(body)
        + "</testsuite></testsuites>\n"
    )
    return text.encode()


def _pdk_value(name: str, value: str) -> str:
    """A pdk field: one line as name=value, else name: with one '.'-prefixed line each."""
    if "\n" not in value:
        return f"{name}={value}\n"
    lines = value.rstrip("\n").split("\n")
    return f"{name}:\n" + "".join(f".{line}\n" for line in lines) + "\n"


def pdk_log(
    n: int,
    *,
    seed: int = 0,
    fail_every: int = 10,
    error_every: int = 40,
    skip_every: int = 25,
    classes: int | None = None,
    test_run: str = "",
    project: str = "",
    host: str = "",
    context: str = "",
    started: datetime | None = None,
    omit: Container[int] = (),
    root: str = "loader",
) -> str:
    """A Pandokia pdk log of n results (name=value lines, `log:` blocks, END per record).

    Non-empty test_run/project/host/context are written once and made defaults with
    SETDEFAULT, as Pandokia's runners do. status_counts() with the same periods and seed says
    how many of each status there are (before `omit`)."""
    clock = started or datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    out: list[str] = []
    header = {"test_run": test_run, "project": project, "host": host, "context": context}
    header = {k: v for k, v in header.items() if v}
    if header:
        out.extend(f"{k}={v}\n" for k, v in header.items())
        out.append("SETDEFAULT\n")
    cases = _cases(n, seed, fail_every, error_every, skip_every, classes, omit, root)
    for number, case in enumerate(cases):
        end = clock + timedelta(seconds=case.duration)
        out.append(f"test_name={case.classname}.{case.name}\n")
        out.append(f"status={case.status}\n")
        out.append(f"start_time={clock:%Y-%m-%d %H:%M:%S.%f}\n")
        out.append(f"end_time={end:%Y-%m-%d %H:%M:%S.%f}\n")
        out.append(f"tda_rows={100 * (number % 7 + 1)}\n")
        if case.message:
            out.append(f"tra_message={case.message}\n")
        log = "\n".join(part for part in (case.message, case.text, case.stdout) if part)
        if log:
            out.append(_pdk_value("log", log + "\n"))
        out.append("END\n")
        clock = end
    return "".join(out)


def json_results(
    n: int,
    *,
    seed: int = 0,
    fail_every: int = 10,
    error_every: int = 40,
    skip_every: int = 25,
    classes: int | None = None,
    run: str = "",
    project: str = "",
    host: str = "",
    context: str = "",
    started: datetime | None = None,
    omit: Container[int] = (),
    root: str = "client",
) -> bytes:
    """An Assay JSON results file (format "assay-results/1") of n results.

    Non-empty run/project/host/context go to the top level, as the format allows."""
    clock = started or datetime(2026, 1, 5, 4, 0, tzinfo=UTC)
    results: list[dict[str, object]] = []
    cases = _cases(n, seed, fail_every, error_every, skip_every, classes, omit, root)
    for number, case in enumerate(cases):
        item: dict[str, object] = {
            "name": f"{case.classname}.{case.name}",
            "status": case.status,
            "start_time": clock.isoformat(),
            "duration": case.duration,
            "location": f"{case.classname.replace('.', '/')}.py",
            "tda": {"threads": number % 4 + 1},
        }
        log = "\n".join(part for part in (case.message, case.text, case.stdout) if part)
        if log:
            item["log"] = log
        if case.message:
            item["tra"] = {"message": case.message}
        results.append(item)
        clock += timedelta(seconds=case.duration)
    doc: dict[str, object] = {"format": "assay-results/1"}
    top = {"run": run, "project": project, "host": host, "context": context}
    doc.update({k: v for k, v in top.items() if v})
    doc["test_runner"] = "assay-demo"
    doc["results"] = results
    return json.dumps(doc, indent=1).encode()


# --- the demo of `manage.py load_demo` -------------------------------------------------------

DEMO_RUN_CLASS = "daily"


def write_demo_files(directory: Path, today: date) -> list[Path]:
    """Write three daily runs (`daily_<today-2>`, `daily_<today-1>`, `daily_<today>`).

    Per run, in `directory/<run>/<project>.<ext>`: a JUnit file of project "engine" from host
    build-linux-01, a pdk log of project "loader" from host etl-02, and an Assay JSON file of
    project "client" from host mac-03 (~320 tests). Failures and errors come and go between
    days; the engine's failures stay. Some tests stop running: one on the middle day, 25 on
    the last, so check_expected against the first run finds them missing (M). JUnit cannot
    name its run or project: import each file with demo_file_defaults(path)."""
    paths: list[Path] = []
    for k in range(3):
        day = today - timedelta(days=2 - k)
        run = f"{DEMO_RUN_CLASS}_{day.isoformat()}"
        folder = directory / run
        folder.mkdir(parents=True, exist_ok=True)
        night = datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC)
        last = k == 2

        engine = folder / "engine.xml"
        engine.write_bytes(
            junit_document(
                200,
                seed=20 * k,  # a multiple of fail_every: the same tests fail every night
                fail_every=20,
                error_every=60,
                skip_every=45,
                suite="pytest",
                hostname="build-linux-01",
                timestamp=night,
                omit=range(190, 200) if last else (),
            )
        )
        loader = folder / "loader.pdk"
        loader.write_text(
            pdk_log(
                80,
                seed=k,
                test_run=run,
                project="loader",
                host="etl-02",
                context="postgres-16",
                started=night + timedelta(hours=1),
                omit=range(70, 80) if last else ({5} if k == 1 else ()),
            )
        )
        client = folder / "client.json"
        client.write_bytes(
            json_results(
                40,
                seed=3 * k,
                run=run,
                project="client",
                host="mac-03",
                context="py3.12",
                started=night + timedelta(hours=2),
                omit=range(35, 40) if last else (),
            )
        )
        paths += [engine, loader, client]
    return paths


def demo_file_defaults(path: Path) -> dict[str, str]:
    """The run and project of a file written by write_demo_files (ImportDefaults' fields)."""
    return {"run": path.parent.name, "project": path.name.split(".", 1)[0]}
