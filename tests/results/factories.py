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
