import pytest

from results.selectors.tree import tree_level
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def test_root_level_counts_per_status(tree_runs):
    new, _ = tree_runs
    nodes = {n.name: n for n in tree_level(new)}
    assert set(nodes) == {"eng", "dir", "solo"}
    assert nodes["eng"].counts == {"P": 2, "F": 1, "E": 1} and nodes["eng"].path == "eng."
    assert nodes["dir"].path == "dir/" and not nodes["dir"].is_leaf
    assert nodes["solo"].is_leaf and nodes["solo"].counts == {"M": 1}


def test_one_level_down_with_leaves_and_groups(tree_runs):
    new, _ = tree_runs
    nodes = {n.name: n for n in tree_level(new, "eng.")}
    assert set(nodes) == {"storage", "query", "top"}
    assert nodes["top"].is_leaf and nodes["top"].path == "eng.top"
    assert nodes["storage"].total == 2
    assert [n.name for n in tree_level(new, "dir/")] == ["file"]
    assert tree_level(new, "dir/file.py/")[0].path == "dir/file.py/test_d"


def test_deltas_against_the_comparison_run(tree_runs):
    new, old = tree_runs
    nodes = {n.name: n for n in tree_level(new, "eng.", old)}
    assert nodes["storage"].delta == {"P": -1, "F": 1}
    assert nodes["gone"].counts == {} and nodes["gone"].delta == {"P": -1}
    assert nodes["query"].delta == {"P": 1}


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
