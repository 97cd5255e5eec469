import pytest

from results.selectors.compare import compare_counts, compare_rows, next_run, previous_run
from results.services.runs import refresh_counts
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


day = factories.day


@pytest.fixture
def two_days():
    before = day(
        "daily_2026-11-01",
        {
            "a.ok": "P",
            "a.breaks": "P",
            "a.missing": "P",
            "a.fixed": "F",
            "a.gone": "P",
            "a.still": "E",
        },
    )
    now = day(
        "daily_2026-11-02",
        {
            "a.ok": "P",
            "a.breaks": "F",
            "a.missing": "M",
            "a.fixed": "P",
            "a.new": "P",
            "a.still": "E",
        },
    )
    return now, before  # fmt: skip


def test_counts_cover_regressions_fixes_new_and_vanished(two_days):
    now, before = two_days
    c = compare_counts(now, before)
    assert (c.regressions, c.fixes, c.new, c.vanished) == (2, 1, 1, 1)


def test_rows_of_each_kind(two_days):
    now, before = two_days
    names = {k: [(r.test_name, r.before, r.status) for r in compare_rows(now, before, k)]
             for k in ("regressions", "fixes", "new", "vanished")}  # fmt: skip
    assert names["regressions"] == [("a.breaks", "P", "F"), ("a.missing", "P", "M")]
    assert names["fixes"] == [("a.fixed", "F", "P")]
    assert names["new"] == [("a.new", None, "P")]
    assert names["vanished"] == [("a.gone", "P", "P")]
    with pytest.raises(ValueError):
        compare_rows(now, before, "nonsense")


def test_identity_matters_host_is_part_of_it(two_days):
    now, before = two_days
    factories.result(before, "a.ok", "P", host="other")
    refresh_counts(before)
    assert compare_counts(now, before).vanished == 2


def test_previous_and_next_of_a_prefix(two_days):
    now, before = two_days
    later = factories.run("daily_2026-11-05")
    factories.run("weekly-1")
    assert previous_run(now) == before and next_run(now) == later
    assert previous_run(before) is None and next_run(later) is None
    assert previous_run(factories.run("weekly-1")) is None


# --- the compare page's use of these (results.selectors.browse) -------------------------------


def test_compared_rows_carry_the_results_of_both_runs(two_days):
    from results.models import TestResult
    from results.selectors.browse import compared_rows

    now, before = two_days
    [breaks, missing] = compared_rows(now, before, "regressions")
    assert (breaks.test_name, breaks.before, breaks.status) == ("a.breaks", "P", "F")
    assert breaks.result_id == TestResult.objects.get(run=now, test_name="a.breaks").pk
    assert breaks.other_result_id == TestResult.objects.get(run=before, test_name="a.breaks").pk
    assert missing.test_name == "a.missing"
    [new] = compared_rows(now, before, "new")
    assert new.before is None and new.other_result_id is None and new.result_id
    [gone] = compared_rows(now, before, "vanished")
    assert (gone.status, gone.result_id, gone.before) == (None, None, "P")
    assert gone.other_result_id == TestResult.objects.get(run=before, test_name="a.gone").pk
    assert [r.test_name for r in compared_rows(now, before, "regressions", offset=1)] == [
        "a.missing"
    ]


def test_cached_counts_are_reused_until_a_run_changes(two_days, django_assert_num_queries):
    from django.core.cache import cache

    from results.selectors.browse import cached_compare_counts

    cache.clear()
    now, before = two_days
    assert cached_compare_counts(now, before).regressions == 2
    with django_assert_num_queries(0):
        assert cached_compare_counts(now, before).regressions == 2
    factories.result(now, "a.later", "P")
    now.results.filter(test_name="a.ok").update(status="F")
    refresh_counts(now)  # every write ends here, and moves updated_at
    now.refresh_from_db()  # (in the database: a page loads the run afresh)
    counts = cached_compare_counts(now, before)
    assert (counts.regressions, counts.new) == (3, 2)
