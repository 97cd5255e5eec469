"""results.selectors.triage: which results are muted, in one query, and what that leaves out."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.exceptions import AssayError
from results.models import TestResult, Triage
from results.selectors.compare import compare_counts, compare_rows
from results.selectors.history import flaky_counts, flaky_tests
from results.selectors.triage import (
    current_mutes,
    muted_counts,
    muted_names,
    mutes_of_tests,
    triages,
    triages_of_result,
    unmuted,
    with_muted,
)
from results.services.flaky import refresh_flaky
from tests import factories
from tests.results.factories import flaky_days

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def mute(test_name: str = "", *, fingerprint: str = "", until=None, on: bool = True, **where):
    proj = None if fingerprint else factories.project(where.pop("proj", "proj"))
    return Triage.objects.create(
        project=proj, test_name=test_name, fingerprint=fingerprint, muted=on,
        muted_until=until, created_by="t", updated_by="t", **where,
    )  # fmt: skip


def muted_set(run) -> set[str]:
    qs = with_muted(TestResult.objects.filter(run=run))
    return {r.test_name for r in qs if r.muted}


def test_a_mute_matches_its_test_on_any_host_or_only_the_one_it_names(two_days):
    now, _ = two_days
    factories.result(now, "a.breaks", "F", host="h2")
    mute("a.breaks", host="h2")
    assert {(r.host, r.muted) for r in with_muted(now.results.filter(test_name="a.breaks"))} == {
        ("h1", False),
        ("h2", True),
    }
    mute("a.breaks")  # any host
    assert muted_set(now) == {"a.breaks"}
    assert (
        len(now.results.filter(test_name="a.breaks"))
        == 2
        == sum(r.muted for r in with_muted(now.results.filter(test_name="a.breaks")))
    )


def test_off_expired_and_other_projects_mutes_mute_nothing(two_days):
    now, _ = two_days
    mute("a.breaks", on=False)
    mute("a.breaks", until=timezone.now() - timedelta(seconds=1), context="default")
    mute("a.breaks", proj="other")
    assert muted_set(now) == set()
    mute("a.still", until=timezone.now() + timedelta(days=1))
    assert muted_set(now) == {"a.still"}


def test_a_muted_cluster_mutes_its_fingerprint_in_every_run(two_days):
    now, before = two_days
    TestResult.objects.filter(test_name__in=["a.breaks", "a.still"]).update(
        fingerprint="00000000000000aa"
    )
    mute(fingerprint="00000000000000aa")
    assert muted_set(now) == {"a.breaks", "a.still"}
    assert muted_set(before) == {"a.breaks", "a.still"}  # a.breaks passed there: same print


def test_regressions_leave_muted_tests_out_and_count_them_apart(two_days):
    now, before = two_days
    assert compare_counts(now, before).regressions == 2  # a.breaks, a.missing
    mute("a.breaks")
    counts = compare_counts(now, before)
    assert (counts.regressions, counts.muted) == (1, 1)
    assert [r.test_name for r in compare_rows(now, before, "regressions")] == ["a.missing"]
    assert [r.test_name for r in compare_rows(now, before, "fixes")] == ["a.fixed"]


def test_muted_counts_are_one_query_for_a_page_of_runs(two_days, django_assert_num_queries):
    now, before = two_days
    assert muted_counts([now.pk, before.pk]) == {}
    mute("a.still")
    mute("a.missing")
    with django_assert_num_queries(2):  # any mute at all, then one GROUP BY
        counts = muted_counts([now.pk, before.pk])
    assert counts == {now.pk: {"E": 1, "M": 1}, before.pk: {"E": 1}}  # P is never counted
    assert muted_names(now.pk, ["a.still", "a.ok", "a.breaks"]) == {"a.still"}


def test_the_mutes_key_changes_when_a_mute_is_set_changed_or_expires(two_days):
    empty = current_mutes().key
    t = mute("a.breaks")
    one = current_mutes().key
    assert one != empty and current_mutes().active
    Triage.objects.filter(pk=t.pk).update(muted_until=timezone.now() + timedelta(days=1))
    assert current_mutes().key == one  # still the same active mutes: the same regressions
    Triage.objects.filter(pk=t.pk).update(muted_until=timezone.now() - timedelta(minutes=1))
    assert current_mutes().key == empty and not current_mutes().active


def test_flaky_lists_leave_muted_tests_out():
    flaky_days({"t.flip": "PFPFP", "t.flop": "FPFPF"}, prefix="daily")
    refresh_flaky("daily", k=2)
    assert {f.test_name for f in flaky_tests(series="daily")} == {"t.flip", "t.flop"}
    mute("t.flip")
    assert {f.test_name for f in flaky_tests(series="daily")} == {"t.flop"}
    assert {f.test_name for f in flaky_tests(series="daily", muted=True)} == {"t.flip", "t.flop"}


def test_flaky_counts_say_how_many_the_list_hides_and_the_muted_rows_say_so():
    flaky_days({"t.flip": "PFPFP", "t.flop": "FPFPF", "t.flap": "PFPFF"}, prefix="daily")
    refresh_flaky("daily", k=2)
    assert flaky_counts(series="daily") == (3, 0)
    mute("t.flip")
    mute("t.flap", until=timezone.now() - timedelta(hours=1))  # expired: counts again
    assert flaky_counts(series="daily") == (3, 1)
    assert flaky_counts(series="daily", project="nobody") == (0, 0)
    marked = {f.test_name: f.muted for f in flaky_tests(series="daily", muted=True)}
    assert marked == {"t.flip": True, "t.flop": False, "t.flap": False}


def test_mutes_of_tests_name_the_most_specific_active_mute_of_each_test(django_assert_num_queries):
    run = factories.run("r")
    a1 = factories.result(run, "t.a", "F", host="h1")
    a2 = factories.result(run, "t.a", "F", host="h2")
    b = factories.result(run, "t.b", "F", host="h1")
    c = factories.result(run, "t.c", "F", host="h1")
    d = factories.result(run, "t.d", "F", host="h1", proj="other")
    anywhere = mute("t.a")
    on_h2 = mute("t.a", host="h2")  # narrower: wins for h2
    mute("t.b", host="h9")  # another host: not this test
    mute("t.c", until=timezone.now() - timedelta(minutes=1))  # expired
    mute("t.d")  # project proj, not other
    TestResult.objects.filter(pk=c.pk).update(fingerprint="0123456789abcdef")
    mute(fingerprint="0123456789abcdef")  # a cluster's: a result's mute, not a test's
    with django_assert_num_queries(1):
        found = mutes_of_tests([a1, a2, b, c, d])
    assert found == {
        (a1.project_id, "h1", "default", "t.a"): anywhere,
        (a2.project_id, "h2", "default", "t.a"): on_h2,
    }
    with django_assert_num_queries(0):
        assert mutes_of_tests([]) == {}


def test_a_results_triages_are_its_tests_and_its_clusters(two_days):
    now, _ = two_days
    result = now.results.get(test_name="a.breaks")
    result.fingerprint = "00000000000000bb"
    result.save()
    anywhere = mute("a.breaks", on=False)
    here = mute("a.breaks", host="h1")
    cluster = mute(fingerprint="00000000000000bb")
    mute("a.breaks", host="h9")
    assert triages_of_result(result) == [here, anywhere, cluster]


def test_unmuted_is_the_rest(two_days):
    now, _ = two_days
    mute("a.ok")
    assert "a.ok" not in set(unmuted(now.results.all()).values_list("test_name", flat=True))


def test_triages_are_newest_first_and_narrowed_by_what_is_given():
    bug = mute("t.x", defect_type="product_bug")
    other = mute("t.x", proj="web", on=False)
    expired = mute("t.y", until=timezone.now() - timedelta(minutes=1))
    cluster = mute(fingerprint="00000000000000bb")
    assert list(triages()) == [cluster, expired, other, bug]
    assert list(triages(muted_only=True)) == [cluster, bug]
    assert list(triages(defect_type="product_bug")) == [bug]
    assert list(triages(project="web")) == [other]
    assert list(triages(test_name="t.x", muted_only=True)) == [bug]
    assert list(triages(fingerprint="00000000000000bb")) == [cluster]
    assert list(triages(project="", test_name="", fingerprint="", defect_type="")) == list(
        triages()
    )
    assert triages(test_name="t.x").get(pk=bug.pk).n_comments == 0
    with pytest.raises(AssayError) as refused:
        triages(defect_type="bad")
    assert refused.value.code == "bad_defect_type"
