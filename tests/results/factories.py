"""Builders the results tests share across folders (tests/factories.py has the basic ones)."""

from __future__ import annotations

from results.models import FlakyTest, TestResult, TestRun
from results.services.runs import refresh_counts
from tests import factories

# The names the search tests look through (tests/results/conftest.py's search_runs).
SEARCH_NAMES = [
    "storage.wal.test_fsync",
    "storage.wal.test_replay",
    "storage.btree.test_split_fsync",
    "Storage.upper.test_case",
    "query.test_fsync_plan",
    "query.a_b.test_literal",
    "query.axb.test_not_literal",
    "query.100%.test_percent",
]

# The compare page's two days (tests/results/conftest.py's compared_days).
BEFORE, NOW = "daily_2026-11-01", "daily_2026-11-02"
COMPARE = f"/runs/{NOW}/compare/{BEFORE}/"


# --- flakiness: one column per day -------------------------------------------------------


def flaky_days(series: dict[str, str], prefix: str = "daily", host: str = "h1") -> list:
    """One run a day per column of `series`, {test name: statuses}; "-" is no result at
    all in that run."""
    runs = []
    for i in range(len(next(iter(series.values())))):
        run = factories.run(f"{prefix}_2026-11-0{i + 1}")
        for name, statuses in series.items():
            if statuses[i] != "-":
                factories.result(run, name, statuses[i], host=host)
        refresh_counts(run)
        runs.append(run)
    return runs


def flips(series: str = "daily") -> dict[str, int]:
    return dict(FlakyTest.objects.filter(series=series).values_list("test_name", "flips"))


# --- history: one letter per day ----------------------------------------------------------


def history_days(statuses: str, name: str = "a.test_x", **kwargs) -> list[TestRun]:
    """One daily run per letter; "-" is a run where the test has no result."""
    runs = []
    for i, status in enumerate(statuses, start=1):
        run = factories.run(f"daily_2026-11-{i:02d}")
        factories.result(run, "a.other", "P")
        if status != "-":
            factories.result(run, name, status, **kwargs)
        refresh_counts(run)
        runs.append(run)
    return runs


def result_in(run: TestRun, name: str = "a.test_x", host: str = "h1") -> TestResult:
    return TestResult.objects.select_related("run").get(run=run, test_name=name, host=host)


def in_thread(work):
    """Run `work` in a new thread with its own database connection; returns a function that
    waits for it and gives back what it returned (or raises what it raised)."""
    import threading

    from django.db import connection

    box: dict = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()

    def result():
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    return result


# --- failure clusters (results.selectors.clusters, its page and API) -------------------


def cluster_junit(numbers: list[int], other_line: int = 42) -> bytes:
    """Nine tests failing `assert N == 4` (N varies), a Java-style failure, an error, a pass."""
    cases = "".join(
        f'<testcase classname="tests.test_math" name="test_{i}" time="0.1">'
        f'<failure message="AssertionError: assert {n} == 4">assert {n} == 4\n'
        f"tests/test_math.py:{10 + i}: AssertionError</failure></testcase>"
        for i, n in enumerate(numbers)
    )
    return (
        '<?xml version="1.0"?><testsuites><testsuite name="pytest">'
        + cases
        + '<testcase classname="tests.test_db" name="test_conn" time="1">'
        '<error message="ConnectionRefusedError: [Errno 111] Connect call failed '
        "('127.0.0.1', 5432)\">trace</error></testcase>"
        '<testcase classname="tests.test_io" name="test_read" time="1"><failure>\n\n'
        f"FileNotFoundError: /tmp/pytest-of-ci/pytest-{other_line}/data.txt\nmore</failure>"
        "</testcase>"
        '<testcase classname="tests.test_ok" name="test_fine" time="0.1"/>'
        "</testsuite></testsuites>"
    ).encode()


def import_junit(name: str, data: bytes) -> TestRun:
    from results.services.imports import ImportDefaults, import_files

    import_files([("r.xml", data)], ImportDefaults(run=name))
    return TestRun.objects.get(name=name)


# --- series: a test's (status, duration) per run --------------------------------------------

# The nightly series the trend tests look at: one column per run (by start), "-" is no result.
NIGHTLY = {
    "t.a": ("PPPF", [1, 1, 1, 1]),
    "t.slow": ("PFPP", [10, 20, 30, 40]),
    "t.flaky": ("-FFE", [None, 2, 2, 2]),
    "t.skip": ("DDDD", [None] * 4),
}
NIGHTLY_RATES = [1.0, 1 / 3, 2 / 3, 1 / 3]  # P among the results that ran (D left out)
NIGHTLY_DURATIONS = [11.0, 23.0, 33.0, 43.0]


def series_run(series: str, name: str, day: int, tests: dict, column: int, **fields) -> TestRun:
    """A run of `series` started on 2026-11-<day> 02:00 UTC, holding column `column` of
    `tests` ({name: (statuses, durations)}), its counts refreshed."""
    from datetime import UTC, datetime

    run = factories.run(
        name, series=series, started_at=datetime(2026, 11, day, 2, tzinfo=UTC), **fields
    )
    for test, (statuses, durations) in tests.items():
        if statuses[column] != "-":
            made = factories.result(run, test, statuses[column])
            TestResult.objects.filter(pk=made.pk).update(duration=durations[column])
    refresh_counts(run)
    run.refresh_from_db()
    return run


def nightly(tests: dict = NIGHTLY) -> list[TestRun]:
    """The nightly series, oldest first; created out of order (ids do not give the order)."""
    runs = {}
    for column in (1, 0, 3, 2):
        runs[column] = series_run(
            "nightly", f"build-{column + 1}", column + 1, tests, column,
            branch="main", commit=f"abc{column}",
        )  # fmt: skip
    return [runs[i] for i in range(4)]


# --- bad input: every one a clear refusal naming the file and line, never a 500 ----------------


def _json(*results: str, top: str = "") -> bytes:
    """An assay-results/1 document, one result per line (so that errors have a line)."""
    body = ",\n".join(results)
    head = f'{{"format": "assay-results/1", "run": "bad_input"{top},\n"results": [\n'
    return f"{head}{body}\n]}}\n".encode()


_OUT_OF_RANGE = "is out of range: date-times must fall between 0001-01-02 and 9999-12-30 (UTC)"
_SURROGATE = "half of a UTF-16 surrogate pair"

# (file name, contents, the line the refusal names or None, what it must say)
BAD_INPUTS: list[tuple[str, bytes, int | None, str]] = [
    ("suite-9999.xml", b'<testsuite name="s"\n timestamp="9999-12-31T23:59:59-14:00">\n'
     b'<testcase classname="c" name="t"/></testsuite>\n', 1, _OUT_OF_RANGE),
    ("case-9999.xml", b'<testsuite name="s">\n<testcase classname="c" name="t"\n'
     b' timestamp="9999-12-31T23:59:59-14:00"/></testsuite>\n', 2, _OUT_OF_RANGE),
    ("start-9999.json", _json('{"name": "t", "status": "P", '
     '"start_time": "9999-12-31T23:59:59-14:00"}'), None, f"results[0].start_time: "
     f"'9999-12-31T23:59:59-14:00' {_OUT_OF_RANGE}"),
    ("end-1.json", _json('{"name": "t", "status": "P"}', '{"name": "u", "status": "P", '
     '"end_time": "0001-01-01T00:00:00+14:00"}'), None, f"results[1].end_time: "
     f"'0001-01-01T00:00:00+14:00' {_OUT_OF_RANGE}"),
    ("start-9999.pdk", b"test_run=bad_input\ntest_name=t\nstatus=P\n"
     b"start_time=9999-12-31 23:59:59-14:00\nEND\n", 4, f"start_time '9999-12-31 23:59:59-14:00' "
     f"{_OUT_OF_RANGE}"),
    ("end-1.pdk", b"test_run=bad_input\ntest_name=t\nstatus=P\n"
     b"end_time=0001-01-01T00:00:00+14:00\nEND\n", 4, f"end_time '0001-01-01T00:00:00+14:00' "
     f"{_OUT_OF_RANGE}"),
    ("epoch.pdk", b"test_run=bad_input\ntest_name=t\nstatus=P\nstart_time=1e300\nEND\n", 4,
     f"start_time '1e300' {_OUT_OF_RANGE}"),
    ("duration-1e400.json", _json('{"name": "t", "status": "P", "duration": 1e400}'), None,
     "results[0].duration: must be a finite number"),
    ("duration-100-digits.json", _json('{"name": "t", "status": "P", "duration": '
     + "9" * 100 + "}"), None, "results[0].duration: out of range: at most 1e+12 seconds"),
    ("duration-400-digits.json", _json('{"name": "t", "status": "P", "duration": '
     + "9" * 400 + "}"), None, "results[0].duration: out of range: at most 1e+12 seconds"),
    ("attribute-5000-digits.json", _json('{"name": "t", "status": "P"}', '{"name": "u", '
     '"status": "P", "tra": {"n": ' + "9" * 5000 + "}}"), 4, "invalid JSON: Exceeds the limit "
     "(4300 digits) for integer string conversion"),
    ("time-1e400.xml", b'<testsuite name="s">\n<testcase classname="c" name="t" time="1e400"/>'
     b"</testsuite>\n", 2, "invalid time '1e400' on <testcase name='t'>"),
    ("time-100-digits.xml", b'<testsuite name="s">\n<testcase classname="c" name="t" time="'
     + b"9" * 100 + b'"/></testsuite>\n', 2, "is out of range: at most 1e+12 seconds"),
    ("surrogate-name.json", _json('{"name": "t", "status": "P"}', '{"name": "t\\ud800", '
     '"status": "P"}'), 4, f"results[1].name: {_SURROGATE} (\\ud800 alone)"),
    ("surrogate-log.json", _json('{"name": "t", "status": "P", "log": "a \\ud83d\\ude00 '
     'pair, then half of one: \\udc00"}'), 3, f"results[0].log: {_SURROGATE} (\\udc00 alone)"),
    ("surrogate-project.json", _json('{"name": "t", "status": "P"}', top=', "project": '
     '"p\\udbff"'), 1, f"project: {_SURROGATE} (\\udbff alone)"),
    ("surrogate-host.json", _json('{"name": "t", "status": "P", "host": "h\\ud800x"}'), 3,
     f"results[0].host: {_SURROGATE} (\\ud800 alone)"),
    ("surrogate-attribute.json", _json('{"name": "t", "status": "P", "tra": {"k\\ud800": '
     '"v"}}'), 3, f"results[0].tra.k\\ud800 (a name): {_SURROGATE}"),
    ("nul.json", _json('{"name": "t", "status": "P", "log": "a\\u0000b"}'), 3,
     "results[0].log: a NUL character (\\u0000), which cannot be stored as text"),
    ("nul.pdk", b"test_run=bad_input\ntest_name=t\nstatus=P\nlog:\n.a\x00b\n\nEND\n", 5,
     "binary data (NUL byte)"),
    ("nul.xml", b'<testsuite name="s">\n<testcase classname="c" name="t">'
     b"<system-out>&#0;</system-out></testcase></testsuite>\n", 2, "malformed XML"),
    ("deep.xml", b"<testsuites>" + b'<testsuite name="s">' * 20_000
     + b'<testcase classname="c" name="t"/>' + b"</testsuite>" * 20_000 + b"</testsuites>", 1,
     "XML elements nested more than 200 deep: refused (the limit is setting ASSAY_MAX_XML_DEPTH)"),
]  # fmt: skip
