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
