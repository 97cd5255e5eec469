"""results.selectors.browse: what the run and compare pages read, cached per run version."""

import pytest

from results.selectors.tree import tree_level
from results.services.runs import refresh_counts
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


# --- the compare page's rows and counts ---------------------------------------------------


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
    from results.selectors.triage import current_mutes

    cache.clear()
    now, before = two_days
    assert cached_compare_counts(now, before).regressions == 2
    mutes = current_mutes()  # a page reads the active mutes once (they are in the key)
    with django_assert_num_queries(0):
        assert cached_compare_counts(now, before, mutes).regressions == 2
    factories.result(now, "a.later", "P")
    now.results.filter(test_name="a.ok").update(status="F")
    refresh_counts(now)  # every write ends here, and moves updated_at
    now.refresh_from_db()  # (in the database: a page loads the run afresh)
    counts = cached_compare_counts(now, before)
    assert (counts.regressions, counts.new) == (3, 2)


# --- the run page's tree -------------------------------------------------------------------


def test_split_prefix_gives_the_level_and_its_ancestors():
    from results.selectors.browse import split_prefix

    assert split_prefix("") == ("", [])
    assert split_prefix("eng.storage.test_a") == (
        "eng.storage.", [("eng", "eng."), ("storage", "eng.storage.")],
    )  # fmt: skip
    assert split_prefix("dir/file.py/") == (
        "dir/file.py/", [("dir", "dir/"), ("file", "dir/file."), ("py", "dir/file.py/")],
    )  # fmt: skip


def test_cached_level_is_reused_until_the_run_changes(tree_runs, django_assert_num_queries):
    from django.core.cache import cache

    from results.selectors.browse import cached_tree_level, count_under, nodes_under
    from results.services.runs import refresh_counts

    cache.clear()
    new, old = tree_runs
    refresh_counts(new)
    refresh_counts(old)
    first = cached_tree_level(new, "eng.", old)
    with django_assert_num_queries(0):
        assert cached_tree_level(new, "eng.", old) == first
    assert count_under(first) == 4 and count_under(first, "FE") == 2
    assert [n.name for n in nodes_under(first, "eng.sto")] == ["storage"]
    factories.result(new, "eng.storage.test_c", "F")
    refresh_counts(new)  # every write ends here, and moves updated_at
    new.refresh_from_db()  # (in the database: a page loads the run afresh)
    again = {n.name: n for n in cached_tree_level(new, "eng.", old)}
    assert again["storage"].counts == {"P": 1, "F": 2}


def test_leaf_links_point_at_the_result_or_a_list(tree_runs):
    from results.models import TestResult
    from results.selectors.browse import leaf_links

    new, old = tree_runs
    factories.result(new, "eng.top", "P", host="h2")  # a second result of that name
    nodes = tree_level(new, "eng.", old) + tree_level(new, "eng.storage.", old)
    links = leaf_links(new, old, nodes)
    assert links["eng.top"].run == new and links["eng.top"].result_id is None
    test_a = TestResult.objects.get(run=new, test_name="eng.storage.test_a")
    assert links["eng.storage.test_a"].result_id == test_a.pk
    assert "eng.storage." not in links  # groups have no link here
    gone = leaf_links(new, old, tree_level(new, "eng.gone.", old))["eng.gone.test_z"]
    assert gone.run == old
    assert gone.result_id == TestResult.objects.get(run=old, test_name="eng.gone.test_z").pk


def test_cached_counts_follow_the_active_mutes(two_days):
    """Muting a test changes the regressions at once, though neither run changed."""
    from django.core.cache import cache

    from results.models import Triage
    from results.selectors.browse import cached_compare_counts, compared_rows

    cache.clear()
    now, before = two_days
    assert cached_compare_counts(now, before).regressions == 2
    assert len(compared_rows(now, before, "regressions")) == 2
    Triage.objects.create(
        project=now.results.first().project, test_name="a.breaks", muted=True, created_by="t",
        updated_by="t",
    )  # fmt: skip
    counts = cached_compare_counts(now, before)
    assert (counts.regressions, counts.muted) == (1, 1)
    assert [r.test_name for r in compared_rows(now, before, "regressions")] == ["a.missing"]
    fixed = compared_rows(now, before, "fixes")
    assert [(r.test_name, r.muted) for r in fixed] == [("a.fixed", False)]
