"""querygen's read paths: runs with live finding counts, new groups per run, the trend, groups
filtered and sorted, the sample a group's page shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import JobState
from querygen import selectors
from querygen.models import Group, GroupStatus
from querygen.services.groups import merge_groups
from tests.querygen.factories import make_engines, make_finding, make_group, make_run

pytestmark = pytest.mark.django_db


def test_runs_are_latest_first_with_live_findings():
    first = make_run()
    second = make_run(state=JobState.RUNNING, finished_at=None)
    group = make_group(second)
    make_finding(group)
    make_finding(group)
    rows = list(selectors.runs())
    assert [r.pk for r in rows] == [second.pk, first.pk]
    assert [r.live_findings for r in rows] == [2, 0]
    assert [r.pk for r in selectors.pending_runs()] == [second.pk]


def test_new_groups_count_the_groups_a_run_saw_first():
    first, second = make_run(), make_run()
    old = make_group(first)
    make_group(second)
    make_group(second)
    make_finding(old, run=second)  # seen again: not new in the second run
    assert selectors.new_groups_of([first.pk, second.pk]) == {first.pk: 1, second.pk: 2}


def test_the_trend_is_finished_runs_oldest_first():
    now = timezone.now()
    late = make_run(finished_at=now, queries=2000, contents=10)
    early = make_run(finished_at=now - timedelta(hours=1), queries=500, errors=1)
    make_run(state=JobState.RUNNING, finished_at=None)
    make_run(state=JobState.FAILED)
    points = selectors.trend()
    assert [p.run_id for p in points] == [early.pk, late.pk]
    assert points[1].per_thousand("contents") == 5.0
    assert points[0].per_thousand("errors") == 2.0
    assert [p.run_id for p in selectors.trend(limit=1)] == [late.pk]


def test_the_trend_of_a_run_without_queries_is_zero():
    make_run(queries=0, errors=0)
    assert selectors.trend()[0].per_thousand("errors") == 0.0


def test_groups_filter_and_sort():
    run = make_run()
    now = timezone.now()
    a = make_group(run, count=9, last_seen=now - timedelta(days=1))
    b = make_group(run, count=2, kind="error", status="known")
    assert list(selectors.groups()) == [b, a]
    assert list(selectors.groups(sort="count")) == [a, b]
    assert list(selectors.groups(status="known")) == [b]
    assert list(selectors.groups(kind="content")) == [a]
    assert list(selectors.groups(scope="nowhere")) == []
    assert selectors.group_choices() == {"kinds": ["content", "error"], "scopes": [run.scope]}
    assert selectors.status_counts() == {"new": 1, "known": 1, "fixed": 0, "ignored": 0}


def test_the_shown_sample_is_the_first_with_results_unless_asked():
    group = make_group(make_run())
    bare = make_finding(group, results=[])
    full = make_finding(group)
    assert selectors.shown_sample(group) == full
    assert selectors.shown_sample(group, bare.pk) == bare
    assert selectors.shown_sample(group, "nonsense") == full
    assert selectors.shown_sample(make_group(make_run())) is None


def test_the_live_stamp_follows_findings_and_progress():
    run = make_run(state=JobState.RUNNING, finished_at=None, progress_done=3)
    before = selectors.live_stamp()
    make_finding(make_group(run))
    after = selectors.live_stamp()
    assert before["pending"] == after["pending"] == 1
    assert (before["findings"], after["findings"]) == (0, 1)
    assert after["runs"][0]["done"] == 3


def test_dialects_of_a_run():
    duck, lite = make_engines()
    assert selectors.dialects_of(make_run()) == {duck.name: "duckdb", lite.name: "sqlite"}


def test_selectors_leave_merged_groups_out():
    run = make_run()
    target = make_group(run, title="the target", status=GroupStatus.KNOWN,
                        link="https://bugs.example/1")  # fmt: skip
    gone = make_group(run, title="merged away", kind="error")
    other = make_group(run, title="merged too", status=GroupStatus.NEW)
    merge_groups(target, [gone, other])

    assert list(selectors.groups()) == [target]
    assert selectors.recent_groups() == [target]
    assert selectors.status_counts() == {"new": 0, "known": 1, "fixed": 0, "ignored": 0}
    assert selectors.group_choices() == {"kinds": ["content"], "scopes": [target.scope]}
    assert selectors.new_groups_of([run.pk]) == {}
    assert selectors.live_stamp()["groups"] == 1
    assert selectors.merged_here(target) == [gone, other]


def test_a_loop_made_by_hand_ends_before_a_group_repeats():
    run = make_run()
    a, b = make_group(run), make_group(run)
    Group.objects.filter(pk=a.pk).update(merged_into=b)
    Group.objects.filter(pk=b.pk).update(merged_into=a)
    a.refresh_from_db()
    assert [g.pk for g in selectors.merge_chain(a)] == [a.pk, b.pk]
