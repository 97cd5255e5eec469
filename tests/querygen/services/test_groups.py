"""Groups by hand: merges that stay merged (a later finding of a merged group's signature lands
in the target, through a chain of merges too), refused merges, and marking several groups at
once, all or nothing. Findings are real: a tiny query the fixture engines answer differently."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlglot
from django.utils import timezone

from core.exceptions import AssayError, NotFound
from querygen import selectors
from querygen.engine import worker
from querygen.engine.engines import DuckDBClient, SQLiteClient
from querygen.engine.generator import Query
from querygen.engine.model import SqlType
from querygen.engine.oracles import Check, Differential
from querygen.engine.pipeline import reduce_finding
from querygen.engine.runner import FailedCheck
from querygen.engine.runner import make_finding as engine_finding
from querygen.models import Finding, Group, GroupStatus
from querygen.services import groups
from tests.querygen.factories import make_engines, make_finding, make_group, make_run

# Merges lock rows and move findings in one transaction: the PostgreSQL pass runs these too.
pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]

# DuckDB keeps the NaNs of the fixture's FLOAT column; SQLite stored them as NULL.
NAN_QUERY = 'SELECT t1."f64" AS c0 FROM numbers AS t1'


@pytest.fixture(scope="module")
def nan_check(querygen_duckdb: Path, querygen_sqlite: Path) -> Iterator[Check]:
    with DuckDBClient(querygen_duckdb) as duck, SQLiteClient(querygen_sqlite) as lite:
        query = Query(sqlglot.parse_one(NAN_QUERY, read="duckdb"), [SqlType.FLOAT], None, 0, 0)
        check = Differential(duck, lite, timeout=5).check(query)
    assert check.finding
    yield check


def found(check: Check, index: int) -> FailedCheck:
    """The engine's finding of the check, as query number ``index`` of seed 7."""
    return engine_finding(check, 7, index, [])


# --- merging ------------------------------------------------------------------------------------


def test_a_merge_moves_samples_and_counts_and_keeps_the_widest_dates():
    early, middle, late = make_run(), make_run(), make_run()
    now = timezone.now()
    day = timedelta(days=1)
    target = make_group(
        middle, count=2, first_seen=now - 2 * day, last_seen=now, note="seen on 1.2"
    )
    older = make_group(
        early,
        count=1,
        first_seen=now - 9 * day,
        last_seen=now - 8 * day,
        link="https://bugs.example/9",
        title="content: the older one",
    )
    newer = make_group(late, count=3, first_seen=now - day / 24, last_seen=now + day / 1440)
    kept = [make_finding(target) for _ in range(2)]
    moved = [make_finding(older), *(make_finding(newer) for _ in range(3))]

    merged = groups.merge_groups(target, [older, newer])

    assert merged.pk == target.pk
    target.refresh_from_db()
    assert set(target.samples.all()) == set(kept + moved)
    assert target.count == 6
    assert (target.first_seen, target.first_run) == (older.first_seen, early)
    assert (target.last_seen, target.last_run) == (newer.last_seen, late)
    assert target.status == GroupStatus.NEW
    assert target.link == "https://bugs.example/9"  # it had none: the first merged group's
    today = f"{timezone.now():%Y-%m-%d}"
    assert target.note.splitlines() == [
        "seen on 1.2",
        f"Merged group {older.pk} (content: the older one) into this one on {today}.",
        f"Merged group {newer.pk} ({newer.title}) into this one on {today}.",
    ]
    for other in (older, newer):
        other.refresh_from_db()
        assert other.merged_into == target and other.count == 0
        assert not other.samples.exists()
    assert list(target.merged.order_by("pk")) == [older, newer]


def test_a_later_finding_of_a_merged_signature_lands_in_the_target(nan_check):
    run = make_run()
    row = groups.record_finding(run, found(nan_check, 1001), None, None, [])
    merged = Group.objects.get(pk=row.group_id)
    assert merged.signature == found(nan_check, 1001).signature and merged.count == 1
    target = make_group(run, title="content: NaN where SQLite has NULL", count=1)
    own = make_finding(target)

    groups.merge_groups(target, [merged])
    again = groups.record_finding(run, found(nan_check, 1002), None, None, [])

    assert again.group == target
    target.refresh_from_db()
    merged.refresh_from_db()
    assert (target.count, merged.count) == (3, 0)  # its own, the merged one, the later one
    assert set(target.samples.values_list("index", flat=True)) == {own.index, 1001, 1002}
    # No new group for the signature: the merged row still holds it, pointing at the target.
    assert Group.objects.filter(signature=merged.signature).get() == merged
    # The groups a run looks up before reducing are the target too.
    assert groups.group_of_query(run.scope, merged.signature) == target
    Finding.objects.filter(pk=again.pk).update(difference="content NaN", reduced_query=NAN_QUERY)
    assert groups.group_of_difference(run.scope, "content NaN") == target
    # A caller that looked the merged group up before the merge is followed as well.
    third = groups.record_finding(run, found(nan_check, 1003), None, merged, [])
    assert third.group == target


def test_a_chain_of_merges_is_followed_to_its_end(nan_check):
    run = make_run()
    first = groups.record_finding(run, found(nan_check, 1001), None, None, []).group
    second, third = make_group(run, count=0), make_group(run, count=0)
    groups.merge_groups(second, [first])
    groups.merge_groups(third, [second])

    first.refresh_from_db()
    assert first.merged_into == second  # the history is kept: merged into the second
    assert [g.pk for g in selectors.merge_chain(first)] == [first.pk, second.pk, third.pk]
    assert selectors.live_group(first) == third
    row = groups.record_finding(run, found(nan_check, 1002), None, None, [])
    assert row.group == third
    third.refresh_from_db()
    assert third.count == 2 and third.samples.count() == 2


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("none", "merge_needs_two"),
        ("itself", "merge_self"),
        ("scopes", "merge_scopes"),
        ("loop", "merge_cycle"),
        ("loop_through", "merge_cycle"),
        ("other_merged", "merged_group"),
        ("target_merged", "merged_group"),
    ],
)
def test_refused_merges_say_why_and_change_nothing(case, code):
    run = make_run()
    tlp = make_run(sut=make_engines()[1], reference=None, oracle="tlp")
    a, b, c, d = (make_group(run) for _ in range(4))
    stranger = make_group(tlp)
    for group in (a, b, c, stranger):
        make_finding(group)
    groups.merge_groups(b, [c])  # c -> b
    target, others = {
        "none": (a, []),
        "itself": (a, [a]),
        "scopes": (a, [d, stranger]),
        "loop": (c, [b]),  # c was merged into b: b into c would loop
        "loop_through": (c, [a, b]),
        "other_merged": (a, [d, c]),
        "target_merged": (c, [a]),
    }[case]
    before = {
        g.pk: (g.count, g.merged_into_id, g.samples.count(), g.note) for g in Group.objects.all()
    }

    with pytest.raises(AssayError) as refused:
        groups.merge_groups(target, others)

    assert refused.value.code == code
    assert refused.value.detail.startswith("Group ") or refused.value.detail.startswith("Select")
    after = {
        g.pk: (g.count, g.merged_into_id, g.samples.count(), g.note) for g in Group.objects.all()
    }
    assert after == before


def test_the_scope_refusal_names_both_scopes():
    run = make_run()
    tlp = make_run(sut=make_engines()[1], reference=None, oracle="tlp")
    with pytest.raises(AssayError, match="only groups of one scope merge") as refused:
        groups.merge_groups(make_group(run), [make_group(tlp)])
    assert run.scope in refused.value.detail and tlp.scope in refused.value.detail


# --- several groups at once ---------------------------------------------------------------------


def test_bulk_status_marks_every_group_and_adds_the_note():
    run = make_run()
    a, b = make_group(run, note="first look"), make_group(run)
    assert groups.bulk_status([a, b, a], GroupStatus.IGNORED, note="documented") == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == ("ignored", "ignored")
    assert a.note == "first look\ndocumented" and b.note == "documented"


def test_bulk_known_needs_a_link_unless_each_group_has_one():
    run = make_run()
    linked = make_group(run, link="https://bugs.example/1")
    bare = make_group(run)
    with pytest.raises(AssayError, match=f"group {bare.pk} has none") as refused:
        groups.bulk_status([linked, bare], GroupStatus.KNOWN)
    assert refused.value.code == "link_required"
    assert set(Group.objects.values_list("status", flat=True)) == {"new"}

    assert groups.bulk_status([linked], GroupStatus.KNOWN) == 1
    assert groups.bulk_status([linked, bare], GroupStatus.KNOWN, link=" https://bugs.example/2 ")
    assert set(Group.objects.values_list("status", "link")) == {("known", "https://bugs.example/2")}


@pytest.mark.parametrize(
    ("status", "link", "code"),
    [("open", "", "bad_status"), ("fixed", "javascript:alert(1)", "bad_link")],
)
def test_bulk_status_refuses_what_set_status_refuses(status, link, code):
    group = make_group(make_run())
    with pytest.raises(AssayError) as refused:
        groups.bulk_status([group], status, link=link)
    assert refused.value.code == code


@pytest.mark.parametrize(
    "link", ["https://\u00cc\x15\u00fcqI", "http://", "https://bugs.example/" + "x" * 500]
)
def test_a_link_the_url_field_would_refuse_is_refused(link):
    """Found by the API's fuzz test: "https://" and anything after it was stored, though the
    field (and the API's schema) says URL."""
    group = make_group(make_run())
    with pytest.raises(AssayError) as refused:
        groups.bulk_status([group], GroupStatus.KNOWN, link=link)
    assert refused.value.code == "bad_link"
    group.refresh_from_db()
    assert group.link == ""


def test_bulk_status_refuses_no_group_and_merged_groups():
    run = make_run()
    target, gone = make_group(run), make_group(run)
    groups.merge_groups(target, [gone])
    with pytest.raises(AssayError) as refused:
        groups.bulk_status([], GroupStatus.FIXED)
    assert refused.value.code == "no_groups"
    with pytest.raises(AssayError) as refused:
        groups.bulk_status([target, gone], GroupStatus.FIXED)
    assert refused.value.code == "merged_group" and f"use group {target.pk}" in refused.value.detail
    assert set(Group.objects.values_list("status", flat=True)) == {"new"}


def test_bulk_status_is_all_or_nothing(monkeypatch):
    run = make_run()
    a, b = make_group(run), make_group(run)
    save = Group.save
    calls = []

    def failing_second(self, *args, **kwargs):
        calls.append(self.pk)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Group, "save", failing_second)
    with pytest.raises(RuntimeError):
        groups.bulk_status([a, b], GroupStatus.FIXED, note="fixed in 1.3")
    assert len(calls) == 2
    assert set(Group.objects.values_list("status", "note")) == {("new", "")}


def test_bulk_actions_mark_or_merge():
    run = make_run()
    a, b, c = make_group(run), make_group(run), make_group(run)
    make_finding(c)
    done = groups.bulk_action([a.pk, b.pk], "fixed")
    assert (done.count, done.detail) == (2, "Marked 2 groups fixed.")
    assert [g.status for g in done.groups] == ["fixed", "fixed"]

    done = groups.bulk_action([b.pk, c.pk, a.pk], "merge", note="one bug", link="https://x.org/1")
    assert done.count == 2 and [g.pk for g in done.groups] == [b.pk, c.pk, a.pk]
    assert done.detail == f"Merged groups {c.pk}, {a.pk} into group {b.pk}."
    b.refresh_from_db()
    assert b.count == 3 and b.samples.count() == 1 and b.link == "https://x.org/1"
    assert b.note.endswith("\none bug")


@pytest.mark.parametrize(
    ("ids", "action", "code"),
    [
        ("ab", "close", "bad_action"),
        ("", "fixed", "no_groups"),
        ("a", "merge", "merge_needs_two"),
        ("aa", "merge", "merge_needs_two"),
        ("a", "known", "link_required"),
    ],
)
def test_bad_bulk_actions_are_refused(ids, action, code):
    run = make_run()
    named = {"a": make_group(run), "b": make_group(run)}
    with pytest.raises(AssayError) as refused:
        groups.bulk_action([named[k].pk for k in ids], action)
    assert refused.value.code == code and refused.value.status == 400


def test_unknown_groups_are_not_found():
    group = make_group(make_run())
    with pytest.raises(NotFound, match="No group 999998, 999999.") as refused:
        groups.bulk_action([group.pk, 999998, 999999], "ignored")
    assert refused.value.status == 404
    group.refresh_from_db()
    assert group.status == "new"


# --- placing findings ---------------------------------------------------------------------------


def test_an_error_an_earlier_run_reduced_joins_its_group_without_a_reduction():
    """One error message is one bug: a later run's finding of it, whatever its query, goes to
    the group an earlier run made, and nothing is reduced again (each reduction would end in
    another shape, another group)."""
    first, second = make_run(), make_run()
    with DuckDBClient(worker.MEMORY) as duck, SQLiteClient(worker.MEMORY) as lite:
        oracle = Differential(duck, lite, timeout=5)

        def overflow(sql: str, index: int) -> FailedCheck:
            query = Query(sqlglot.parse_one(sql, read="duckdb"), [SqlType.INT], None, 0, index)
            check = oracle.check(query)
            assert check.finding and "Overflow" in check.error
            return found(check, index)

        reduced = groups.place_finding(
            first,
            overflow("SELECT CAST(2147483647 AS INT) + CAST(1 AS INT) AS c0", 1),
            lambda f: reduce_finding(oracle, f, max_checks=50),
            [],
            {},
        )
        assert reduced is not None and reduced.reduced_query

        def no_reduction(f: FailedCheck) -> None:
            raise AssertionError("reduced again")

        later = groups.place_finding(
            second,
            overflow("SELECT 7 AS c0, CAST(2147483600 AS INT) + CAST(100 AS INT) AS c1", 2),
            no_reduction,
            [],
            {},
        )
    assert later is not None and later.group == reduced.group
    assert Group.objects.count() == 1
