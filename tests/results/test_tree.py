import pytest

from results.selectors.tree import tree_level
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


@pytest.fixture
def runs():
    old = factories.run("r-old")
    new = factories.run("r-new")
    for name, status in [("eng.storage.test_a", "P"), ("eng.storage.test_b", "F"),
                         ("eng.query.test_c", "P"), ("eng.top", "E"), ("dir/file.py/test_d", "P"),
                         ("solo", "M")]:  # fmt: skip
        factories.result(new, name, status)
    for name, status in [("eng.storage.test_a", "P"), ("eng.storage.test_b", "P"),
                         ("eng.gone.test_z", "P")]:  # fmt: skip
        factories.result(old, name, status)
    return new, old


def test_root_level_counts_per_status(runs):
    new, _ = runs
    nodes = {n.name: n for n in tree_level(new)}
    assert set(nodes) == {"eng", "dir", "solo"}
    assert nodes["eng"].counts == {"P": 2, "F": 1, "E": 1} and nodes["eng"].path == "eng."
    assert nodes["dir"].path == "dir/" and not nodes["dir"].is_leaf
    assert nodes["solo"].is_leaf and nodes["solo"].counts == {"M": 1}


def test_one_level_down_with_leaves_and_groups(runs):
    new, _ = runs
    nodes = {n.name: n for n in tree_level(new, "eng.")}
    assert set(nodes) == {"storage", "query", "top"}
    assert nodes["top"].is_leaf and nodes["top"].path == "eng.top"
    assert nodes["storage"].total == 2
    assert [n.name for n in tree_level(new, "dir/")] == ["file"]
    assert tree_level(new, "dir/file.py/")[0].path == "dir/file.py/test_d"


def test_deltas_against_the_comparison_run(runs):
    new, old = runs
    nodes = {n.name: n for n in tree_level(new, "eng.", old)}
    assert nodes["storage"].delta == {"P": -1, "F": 1}
    assert nodes["gone"].counts == {} and nodes["gone"].delta == {"P": -1}
    assert nodes["query"].delta == {"P": 1}


# --- the run page's use of the tree (results.selectors.browse) -------------------------------


def test_split_prefix_gives_the_level_and_its_ancestors():
    from results.selectors.browse import split_prefix

    assert split_prefix("") == ("", [])
    assert split_prefix("eng.storage.test_a") == (
        "eng.storage.", [("eng", "eng."), ("storage", "eng.storage.")],
    )  # fmt: skip
    assert split_prefix("dir/file.py/") == (
        "dir/file.py/", [("dir", "dir/"), ("file", "dir/file."), ("py", "dir/file.py/")],
    )  # fmt: skip


def test_cached_level_is_reused_until_the_run_changes(runs, django_assert_num_queries):
    from django.core.cache import cache

    from results.selectors.browse import cached_tree_level, count_under, nodes_under
    from results.services.runs import refresh_counts

    cache.clear()
    new, old = runs
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


def test_leaf_links_point_at_the_result_or_a_list(runs):
    from results.models import TestResult
    from results.selectors.browse import leaf_links

    new, old = runs
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


def test_names_differing_only_in_case_are_different_levels():
    run = factories.run("cased")
    for name, status in [("eng.a", "P"), ("Eng.b", "F"), ("Eng.c", "F")]:
        factories.result(run, name, status)
    assert {n.name: n.counts for n in tree_level(run)} == {"Eng": {"F": 2}, "eng": {"P": 1}}
    assert [(n.path, n.counts) for n in tree_level(run, "eng.")] == [("eng.a", {"P": 1})]
    from results.selectors import run_results

    assert [r.test_name for r in run_results(run, name_prefix="eng.")] == ["eng.a"]
    assert [r.test_name for r in run_results(run, status="F", name_prefix="Eng.")] == [
        "Eng.b",
        "Eng.c",
    ]
