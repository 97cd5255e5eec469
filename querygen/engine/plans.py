"""What the plan oracle (oracles.Plan) switches off: per dialect, the optimizer settings a
query runs under the second time, drawn from a random stream of its (seed, index).

In the manner of SQLancer's query-plan oracles and DQP ("Detecting Logic Bugs of Join
Optimizations via Differential Query Plans"): the same query, planned with the optimizer or
some of its rules switched off, must give the same answer.

- DuckDB: ``PRAGMA disable_optimizer`` (the whole optimizer), or ``SET disabled_optimizers =
  'a,b'`` with one to three of the rules the engine lists (``duckdb_optimizers()``, read once:
  each release has its own; a release without that function gets the PRAGMA alone). Rules that
  change no plan of a query on a local database (``extension``, ``remote_pushdown``) are not
  drawn. The settings are SET on the engine's own session and restored after the query.
- PostgreSQL: one of a few sets of planner switches (``enable_hashjoin = off`` and the like,
  ``join_collapse_limit = 1``), those the server has (``pg_settings``). querygen's PostgreSQL
  engine runs every query in a transaction it rolls back, SETs included, so these are set where
  they last: as the libpq ``options`` of a connection of their own (``connection_options``).
- SQLite has no optimizer switch outside debug builds: no plan oracle.

``Settings.script(sql)`` is the query as a reader pastes it into the engine's shell: the
statements that switch the settings on, then the query.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dbkinds import postgresql

__all__ = [
    "DIALECTS",
    "Menu",
    "Settings",
    "available_sql",
    "connection_options",
    "menu",
]

DIALECTS = ("duckdb", "postgres")

_SALT = "plan"


@dataclass(frozen=True)
class Settings:
    """One way of planning a query with (part of) the optimizer off.

    ``label`` names it in the check's side (``disabled_optimizers=filter_pushdown``);
    ``statements`` switch it on in a session, ``restore`` gives the session its defaults back.
    ``values`` (name, value) are set at connection instead (``connection_options``): then the
    oracle runs the query on a connection of their own and ``restore`` is empty."""

    label: str
    statements: tuple[str, ...]
    restore: tuple[str, ...] = ()
    values: tuple[tuple[str, str], ...] = ()

    def script(self, sql: str) -> str:
        return "; ".join((*self.statements, sql))


@dataclass(frozen=True)
class Menu:
    """The settings one engine can draw from: ``choices`` (one is drawn per query) and, for
    DuckDB, ``rules``: optimizer rules of which one to three are switched off together."""

    dialect: str
    choices: tuple[Settings, ...]
    rules: tuple[str, ...] = ()
    p_rules: float = 0.0  # how often rules are drawn rather than one of the choices

    def pick(self, seed: int, index: int) -> Settings:
        """The settings for query (seed, index): the same every time for the same menu."""
        digest = hashlib.blake2b(f"{_SALT}:{seed}:{index}".encode(), digest_size=8).digest()
        rng = random.Random(int.from_bytes(digest, "big"))  # noqa: S311
        if self.rules and rng.random() < self.p_rules:
            count = min(len(self.rules), rng.choice((1, 1, 2, 3)))
            return _duckdb_rules(sorted(rng.sample(self.rules, count)))
        return rng.choice(self.choices)


# --- DuckDB ---------------------------------------------------------------------------------

_DUCKDB_OFF = Settings(
    label="disable_optimizer",
    statements=("PRAGMA disable_optimizer",),
    restore=("PRAGMA enable_optimizer",),
)
# Rules that change no plan of a query on a local database: a draw of them tests nothing.
_DUCKDB_INERT = frozenset({"extension", "remote_pushdown"})
_DUCKDB_P_RULES = 0.8


def _duckdb_rules(names: Sequence[str]) -> Settings:
    joined = ",".join(names)
    return Settings(
        label=f"disabled_optimizers={joined}",
        statements=(f"SET disabled_optimizers = '{joined}'",),
        restore=("SET disabled_optimizers = ''",),
    )


# --- PostgreSQL -----------------------------------------------------------------------------

# Each set changes how the planner may join, scan, group or sort; a set is used with the
# switches of it the server has (enable_memoize is PostgreSQL 14's, for one).
_POSTGRES_SETS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("enable_hashjoin", "off"),),
    (("enable_mergejoin", "off"),),
    (("enable_nestloop", "off"),),
    (("enable_hashjoin", "off"), ("enable_mergejoin", "off")),  # nested loops
    (("enable_hashjoin", "off"), ("enable_nestloop", "off")),  # merge joins
    (("enable_mergejoin", "off"), ("enable_nestloop", "off")),  # hash joins
    (("join_collapse_limit", "1"), ("from_collapse_limit", "1")),  # joins as written
    (("enable_seqscan", "off"),),  # indexes wherever there is one
    (("enable_indexscan", "off"), ("enable_indexonlyscan", "off"), ("enable_bitmapscan", "off")),
    (("enable_hashagg", "off"),),  # grouping by sorting
    (("enable_sort", "off"), ("enable_incremental_sort", "off")),
    (("enable_material", "off"), ("enable_memoize", "off")),
    (("enable_hashagg", "off"), ("enable_hashjoin", "off"), ("enable_material", "off")),
)


def _postgres_settings(values: tuple[tuple[str, str], ...]) -> Settings:
    return Settings(
        label=", ".join(f"{name}={value}" for name, value in values),
        statements=tuple(f"SET {name} = {value}" for name, value in values),
        values=values,
    )


def connection_options(conninfo: str, settings: Settings) -> str:
    """``conninfo`` with the settings' values added to its libpq ``options`` (``-c name=value``
    after any options it has): a connection that plans every query under them."""
    params = postgresql.conninfo_params(conninfo)
    switches = " ".join(f"-c {name}={value}" for name, value in settings.values)
    params["options"] = " ".join(p for p in (params.get("options", ""), switches) if p)
    return postgresql.conninfo(params)


# --- per dialect ----------------------------------------------------------------------------


def available_sql(dialect: str) -> str:
    """The query listing what the engine has: DuckDB's optimizer rules, PostgreSQL's settings."""
    if dialect == "duckdb":
        return "SELECT name FROM duckdb_optimizers()"
    if dialect == "postgres":
        return "SELECT name FROM pg_settings"
    raise ValueError(f"the plan oracle needs DuckDB or PostgreSQL, not {dialect!r}")


def menu(dialect: str, names: Iterable[str] | None) -> Menu:
    """The menu of an engine that lists ``names`` (``available_sql``'s answer; None: the query
    failed, an older release)."""
    available = sorted(set(names or ()))
    if dialect == "duckdb":
        rules = tuple(n for n in available if n not in _DUCKDB_INERT)
        return Menu(dialect, (_DUCKDB_OFF,), rules, _DUCKDB_P_RULES if rules else 0.0)
    if dialect == "postgres":
        known = set(available)
        sets = dict.fromkeys(
            tuple(pair for pair in values if pair[0] in known) for values in _POSTGRES_SETS
        )
        choices = tuple(_postgres_settings(values) for values in sets if values)
        if not choices:
            raise ValueError("the server has none of the planner settings the plan oracle sets")
        return Menu(dialect, choices)
    raise ValueError(f"the plan oracle needs DuckDB or PostgreSQL, not {dialect!r}")
