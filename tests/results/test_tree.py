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
