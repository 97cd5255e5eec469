import pytest

from results.selectors.compare import compare_counts, compare_rows, next_run, previous_run
from results.services.runs import refresh_counts
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


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


def test_neighbours_follow_the_series_by_start_time_then_id():
    """Builds named by commit, several a day, one with the same start as another: the order
    is (started_at, id), whatever the names or when the runs were created."""
    from datetime import UTC, datetime

    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    late = factories.run("b-zzz", series="ci", started_at=at.replace(hour=17))
    early = factories.run("b-mmm", series="ci", started_at=at.replace(hour=8))
    tie_a = factories.run("b-aaa", series="ci", started_at=at)
    tie_b = factories.run("b-bbb", series="ci", started_at=at)
    factories.run("other", series="ci-other", started_at=at.replace(hour=10))
    order = [early, tie_a, tie_b, late]
    for before, after in zip(order, order[1:], strict=False):
        assert previous_run(after) == before and next_run(before) == after
    assert previous_run(early) is None and next_run(late) is None
    assert previous_run(factories.run("no-series")) is None
