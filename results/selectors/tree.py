"""Pandokia's tree walk: a run's results counted per status at one level of the test names.

`pkg.mod.Class.test_x` has the levels pkg, pkg.mod, ...; like Pandokia, `/` separates levels
too. One GROUP BY per level, the next name segment cut out in SQL, so a run of 100,000
results is never walked in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, Value
from django.db.models.functions import Concat, Replace, StrIndex, Substr

from results.models import TestResult, TestRun
from results.selectors.names import name_startswith


@dataclass
class Node:
    name: str  # the segment: "storage"
    path: str  # what to filter on to go down: "engine.storage." (or the full name of a leaf)
    is_leaf: bool  # a test itself, not a group of tests
    counts: dict[str, int] = field(default_factory=dict)
    delta: dict[str, int] = field(default_factory=dict)  # against the comparison run

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _level_counts(run: TestRun, prefix: str) -> dict[str, dict[str, int]]:
    """{key: {status: n}}: key is the next segment with its separator ("storage.") for a
    group, or without one ("test_x") for a leaf."""
    qs = TestResult.objects.filter(run=run)
    rest = F("test_name")
    if prefix:
        qs = qs.filter(name_startswith(prefix))
        rest = Substr("test_name", len(prefix) + 1)
    # One expression, cheap enough for 100,000 rows: cut after the first '.' or '/'; the
    # appended '.' makes a leaf's cut fall past its end, so it keeps its whole name.
    cut = StrIndex(Concat(Replace(rest, Value("/"), Value(".")), Value(".")), Value("."))
    rows = (
        qs.annotate(key=Substr(rest, 1, cut))
        .order_by()
        .values_list("key", "status")
        .annotate(n=Count("id"))
    )
    level: dict[str, dict[str, int]] = {}
    for key, status, n in rows:
        level.setdefault(key, {})[status] = n
    return level


def tree_level(run: TestRun, prefix: str = "", other: TestRun | None = None) -> list[Node]:
    """The children of `prefix` (which ends with its separator, or is empty for the root),
    with counts per status and, given a comparison run, the change of each count."""
    level = _level_counts(run, prefix)
    before = _level_counts(other, prefix) if other is not None else {}
    nodes = []
    for key in sorted(level.keys() | before.keys()):
        counts = level.get(key, {})
        is_leaf = not key.endswith((".", "/"))
        node = Node(
            name=key if is_leaf else key[:-1],
            path=prefix + key,
            is_leaf=is_leaf,
            counts=counts,
        )
        if other is not None:
            old = before.get(key, {})
            node.delta = {
                s: counts.get(s, 0) - old.get(s, 0)
                for s in counts.keys() | old.keys()
                if counts.get(s, 0) != old.get(s, 0)
            }
        nodes.append(node)
    return nodes
