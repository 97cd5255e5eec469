from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from results.models import TestRun
from results.selectors.clusters import cluster, cluster_runs, cluster_tests, run_clusters
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _run(name: str, series: str, hours: int, failures: dict[str, str]) -> TestRun:
    run = factories.run(name)
    TestRun.objects.filter(pk=run.pk).update(series=series, started_at=T0 + timedelta(hours=hours))
    names = list(failures)
    factories.bulk_results(
        run, len(names), lambda i: "F", name_of=lambda i: names[i],
        message_of=lambda i: failures[names[i]],
    )  # fmt: skip
    run.refresh_from_db()
    return run


def test_seen_before_means_an_earlier_run_of_the_same_series():
    _run("other-1", "other", 0, {"t.a": "boom 1"})  # another series, earlier: does not count
    _run("main-1", "main", 1, {"t.b": "assert 1 == 2"})
    later_in_other = _run("other-2", "other", 5, {"t.c": "timeout after 3 s"})
    now = _run(
        "main-2", "main", 2, {"t.a": "boom 7", "t.b": "assert 5 == 6", "t.c": "timeout after 9 s"}
    )
    clusters = {c.normalized: c for c in run_clusters(now)}
    assert clusters["assert <n> == <n>"].earlier_runs == 1
    assert clusters["assert <n> == <n>"].first_seen == T0 + timedelta(hours=1)
    assert clusters["boom <n>"].new  # only the other series had it
    assert clusters["timeout after <n> s"].new  # the other series had it, and later
    assert run_clusters(later_in_other)[0].earlier_runs == 0


def test_without_a_series_any_earlier_run_counts():
    _run("pr-1", "main", 0, {"t.a": "boom 1"})
    now = _run("pr-2", "", 1, {"t.a": "boom 2", "t.z": "boom 3"})
    [cluster] = run_clusters(now)
    assert cluster.count == 2 and cluster.earlier_runs == 1
    assert [t.test_name for t in cluster.tests] == ["t.a", "t.z"]


def test_a_fixed_number_of_queries_and_a_sample_of_tests():
    failures = {f"t.{i:03d}": f"assert {i} == 0" for i in range(300)}
    failures |= {f"u.{i:03d}": f"KeyError: 'k{i}'" for i in range(40)}
    now = _run("big", "", 0, failures)
    with CaptureQueriesContext(connection) as ctx:
        clusters = run_clusters(now, sample=5)
    assert len(ctx.captured_queries) == 2
    assert [(c.count, len(c.tests)) for c in clusters] == [(300, 5), (40, 5)]
    assert clusters[1].normalized == "KeyError: <str>"


def test_a_clusters_runs_and_tests_are_listed_a_slice_at_a_time():
    for hour in range(3):
        _run(f"r-{hour}", "main", hour, {f"t.{i:02d}": f"boom {i}" for i in range(hour + 2)})
    [fp] = {c.fingerprint for c in run_clusters(TestRun.objects.get(name="r-2"))}
    found = cluster(fp, runs_limit=0, tests_limit=0)
    assert (found.runs, found.tests, found.run_count, found.test_count) == ([], [], 3, 4)
    runs, tests = cluster_runs(found), cluster_tests(found)
    assert runs.count() == len(runs) == 3 and tests.count() == 4
    with CaptureQueriesContext(connection) as ctx:
        assert [(r.name, r.count) for r in runs[1:3]] == [("r-1", 3), ("r-0", 2)]
        assert [(t.test_name, t.count) for t in tests[2:4]] == [("t.02", 2), ("t.03", 1)]
    assert len(ctx.captured_queries) == 2  # one per slice
    assert [r.name for r in cluster(fp, runs_limit=2).runs] == ["r-2", "r-1"]  # the API's
