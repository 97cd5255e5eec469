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

from querygen.engine.database import DatabaseSettings

JOIN_KINDS = ("inner", "left", "right", "full", "cross")
DATA_MODES = ("generated", "dataset")
SET_OPS = ("union", "union_all", "intersect", "intersect_all", "except", "except_all")


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
    # fmt: off
    set_op_weights: dict[str, float] = field(
        default_factory=lambda: {"union": 2, "union_all": 2, "intersect": 1, "intersect_all": 1,
                                 "except": 1, "except_all": 1}
    )
    # fmt: on
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
    p_window: float = 0.15  # a select item of a top-level SELECT is a window
    p_function: float = 0.3
    p_case: float = 0.1  # an expression is a CASE (at times without ELSE, WHEN x IS NULL,
    # CASE x WHEN v)
    p_coalesce: float = 0.04  # an expression is COALESCE(a, b[, c]), a typed NULL first at times
    p_nullif: float = 0.03  # an expression is NULLIF(a, b)
    p_cast: float = 0.04  # an expression is a cast every dialect means the same by (INT to TEXT,
    # to FLOAT, to DECIMAL; DECIMAL to FLOAT)
    p_null_literal: float = 0.05
    p_column: float = 0.6  # a leaf is a column rather than a literal
    # the constructs optimizers break on (issue 11): each on its own, all on by default
    p_distinct_from: float = 0.1  # a comparison (predicate, key join, correlation) is IS [NOT]
    # DISTINCT FROM
    p_between: float = 0.15  # a predicate is [NOT] BETWEEN (bounds literals, or expressions)
    p_like: float = 0.2  # a TEXT predicate is [NOT] LIKE a pattern of `_` and `%`
    p_offset: float = 0.3  # given an ORDER BY over every output column (as LIMIT, no FLOAT)
    p_window_function: float = 0.5  # a window is ROW_NUMBER, DENSE_RANK, NTILE, LEAD, LAG,
    # FIRST_VALUE or LAST_VALUE (over a total order of its rows)
    p_window_frame: float = 0.4  # a window has a frame (ROWS/RANGE BETWEEN ...)
    p_having_without_group_by: float = 0.3  # given an aggregate select list without GROUP BY
    p_correlated_in: float = 0.5  # an IN (SELECT ...) is correlated to the outer row
    p_correlation_inequality: float = 0.3  # a correlation is an inequality (<, <=, >, >=, <>)
    p_correlation_several: float = 0.3  # a correlation has two or three conditions (AND, OR)
    p_non_equi_join: float = 0.25  # a join is on an inequality, BETWEEN, OR, IS NOT DISTINCT
    # FROM, or one side only (it reads a bounded source, as a join off keys does)
    p_join_subquery: float = 0.1  # a join condition holds IN (SELECT ...) or EXISTS (...)
    p_distinct_on: float = 0.05  # a top-level SELECT is DISTINCT ON (...), ordered totally
    # flags
    windows: bool = True
    set_ops: bool = True
    subqueries: bool = True
    outer_joins: bool = True
    # what the queries read (see generated.py): "generated", databases of querygen's own, a new
    # one every database["queries"] queries, in memory on every engine; or "dataset", the
    # tables the engines' database files (or PostgreSQL schema) hold
    data: str = "generated"
    database: dict[str, Any] = field(default_factory=dict)  # database.DatabaseSettings

    @classmethod
    def named(cls, name: str) -> Profile:
        """One of PROFILES; KeyError for another name."""
        return PROFILES[name]

    @property
    def generated(self) -> bool:
        return self.data == "generated"

    def database_settings(self) -> DatabaseSettings:
        return DatabaseSettings.from_mapping(self.database)

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
            if key == "data" and value not in DATA_MODES:
                raise ValueError(f"profile.data: one of {DATA_MODES}")
            if key == "database":
                DatabaseSettings.from_mapping(value)
                continue
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
