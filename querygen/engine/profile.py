"""A query profile: the bounds, weights, probabilities and flags the generator draws from, as
Impala's query profiles had. Profiles are plain data, loaded from a mapping (JSON/YAML) with
messages that name the bad key.

Named profiles (``PROFILES``, ``Profile.named``): a mapping whose ``name`` is one of them starts
from that profile instead of the defaults (``{"name": "fast", "max_depth": 2}``).

- ``default``: every construct; joins and correlations mostly on keys, cross joins onto a few
  rows (a derived table with ORDER BY and LIMIT), so that few queries run into a timeout.
- ``fast``: the same constructs, cheap to run: most SELECTs keep to a window of ``key_window``
  consecutive ids of their first table (``t1.id BETWEEN lo AND lo + key_window - 1``, ``lo``
  below ``key_span``; an index range on the reference), so results stay small (no row limit
  reached) and plain scans and sorts of whole tables become rarer, not gone
  (``1 - p_key_window`` of the SELECTs). What the benchmark (benchmarks/querygen.py) runs, and
  what a continuous run should run when queries per second matter more than whole-table scans.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

JOIN_KINDS = ("inner", "left", "right", "full", "cross")
SET_OPS = ("union", "union_all", "intersect", "except")


@dataclass(frozen=True)
class Profile:
    name: str = "default"
    # bounds
    max_depth: int = 3  # nesting of expressions
    max_select_items: int = 4
    max_tables: int = 3  # in one FROM, joined
    max_group_by: int = 2
    max_order_by: int = 3
    max_in_list: int = 4
    max_limit: int = 50
    max_subquery_depth: int = 1
    max_subquery_tables: int = 2  # in the FROM of a subquery (run once per outer row if correlated)
    cross_join_rows: int = 10  # a cross join reads at most this many rows of a derived table
    # (SELECT ... ORDER BY every column LIMIT n); 0: the whole table
    key_window: int = 200  # ids in a key window (see p_key_window)
    key_span: int = 8000  # key windows start below this id
    # weights
    join_weights: dict[str, float] = field(
        default_factory=lambda: {"inner": 4, "left": 3, "right": 1, "full": 1, "cross": 1}
    )
    set_op_weights: dict[str, float] = field(
        default_factory=lambda: {"union": 2, "union_all": 2, "intersect": 1, "except": 1}
    )
    # probabilities
    p_join: float = 0.5  # each further table up to max_tables
    p_key_join: float = 0.9  # a join or correlation on a key (`id` = a key-like column) if any
    p_key_window: float = 0.0  # a SELECT keeps to a window of ids of its first table
    p_where: float = 0.7
    p_group_by: float = 0.3
    p_having: float = 0.4  # given a GROUP BY
    p_aggregate: float = 0.3  # a select list of aggregates without GROUP BY
    p_distinct: float = 0.15
    p_order_by: float = 0.4
    p_limit: float = 0.5  # given an ORDER BY over every output column
    p_set_op: float = 0.1
    p_with: float = 0.1
    p_subquery: float = 0.15  # a predicate becomes IN (SELECT ...) or EXISTS (SELECT ...)
    p_scalar_subquery: float = 0.05
    p_window: float = 0.1
    p_function: float = 0.35
    p_case: float = 0.1
    p_null_literal: float = 0.05
    p_column: float = 0.6  # a leaf is a column rather than a literal
    # flags
    windows: bool = True
    set_ops: bool = True
    subqueries: bool = True
    outer_joins: bool = True

    @classmethod
    def named(cls, name: str) -> Profile:
        """One of PROFILES; KeyError for another name."""
        return PROFILES[name]

    @classmethod
    def from_mapping(cls, data: Any) -> Profile:
        """Settings over the defaults, or over the named profile ``data["name"]`` names."""
        if not isinstance(data, dict):
            raise ValueError("a profile is a mapping of settings")
        base = PROFILES.get(data.get("name")) if isinstance(data.get("name"), str) else None
        base = base or cls()
        known = {f.name: f for f in fields(cls)}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"profile: unknown setting {key!r}")
            default = getattr(cls(), key)
            if isinstance(default, bool) and not isinstance(value, bool):
                raise ValueError(f"profile.{key}: true or false")
            whole = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            if isinstance(default, int) and not isinstance(default, bool) and not whole:
                raise ValueError(f"profile.{key}: a whole number >= 0")
            if isinstance(default, float) and key.startswith("p_"):
                number = isinstance(value, (int, float)) and not isinstance(value, bool)
                if not number or not 0 <= value <= 1:
                    raise ValueError(f"profile.{key}: a probability from 0 to 1")
            if isinstance(default, dict):
                allowed = JOIN_KINDS if key == "join_weights" else SET_OPS
                if not isinstance(value, dict) or not value:
                    raise ValueError(f"profile.{key}: a mapping of {allowed} to weights")
                for kind, weight in value.items():
                    if kind not in allowed:
                        raise ValueError(f"profile.{key}.{kind}: one of {allowed}")
                    if (
                        isinstance(weight, bool)
                        or not isinstance(weight, (int, float))
                        or weight < 0
                    ):
                        raise ValueError(f"profile.{key}.{kind}: a weight >= 0")
        return replace(base, **data)


PROFILES: dict[str, Profile] = {
    "default": Profile(),
    "fast": Profile(name="fast", p_key_window=0.9),
}
