"""The plan oracle's settings: drawn per (seed, index) from what the engine lists, written as
statements a reader pastes, and accepted by the real engines: DuckDB's optimizer rules on its
session, PostgreSQL's planner switches as a connection's options."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from querygen.engine import plans
from querygen.engine.engines import DuckDBClient, PostgresClient

RULES = ["filter_pushdown", "join_order", "top_n", "statistics_propagation", "extension"]
PG_NAMES = ["enable_hashjoin", "enable_mergejoin", "enable_nestloop", "enable_material", "work_mem"]


@pytest.fixture(scope="module")
def duck(querygen_duckdb: Path) -> Iterator[DuckDBClient]:
    with DuckDBClient(querygen_duckdb) as engine:
        yield engine


def test_duckdb_rules_are_drawn_from_the_engine_list_per_seed_and_index() -> None:
    menu = plans.menu("duckdb", RULES)
    picks = [menu.pick(5, index) for index in range(300)]
    assert picks == [menu.pick(5, index) for index in range(300)]  # replays draw the same
    assert picks != [menu.pick(6, index) for index in range(300)]
    whole = [s for s in picks if s.label == "disable_optimizer"]
    rules = [s for s in picks if s.label.startswith("disabled_optimizers=")]
    assert len(whole) + len(rules) == len(picks) and whole and len(rules) > len(whole)
    drawn = {name for s in rules for name in s.label.split("=")[1].split(",")}
    assert drawn == set(RULES) - {"extension"}  # every rule in time, never an inert one
    assert {len(s.label.split(",")) for s in rules} == {1, 2, 3}

    two = plans.menu("duckdb", ["join_order", "filter_pushdown"]).pick(1, 0)
    sql = "SELECT 1 AS c0"
    if two.label == "disable_optimizer":
        assert two.script(sql) == f"PRAGMA disable_optimizer; {sql}"
        assert two.restore == ("PRAGMA enable_optimizer",)
    else:
        names = two.label.removeprefix("disabled_optimizers=")
        assert two.script(sql) == f"SET disabled_optimizers = '{names}'; {sql}"
        assert two.restore == ("SET disabled_optimizers = ''",)
    assert two.values == ()  # set on the engine's own session


def test_a_duckdb_without_an_optimizer_list_switches_the_whole_optimizer_off() -> None:
    for names in (None, [], ["extension"]):
        menu = plans.menu("duckdb", names)
        assert {menu.pick(1, i).script("SELECT 1") for i in range(50)} == {
            "PRAGMA disable_optimizer; SELECT 1"
        }


def test_postgres_sets_only_the_switches_the_server_has() -> None:
    menu = plans.menu("postgres", PG_NAMES)
    choices = {s.label: s for s in menu.choices}
    assert "enable_hashjoin=off, enable_mergejoin=off" in choices  # nested loops only
    assert "enable_material=off" in choices  # enable_memoize is not on this server
    assert all(name in PG_NAMES for s in menu.choices for name, _ in s.values), (
        "a switch the server does not have"
    )
    assert len(choices) == len(menu.choices)  # sets cut down to the same switches are one
    nested = choices["enable_hashjoin=off, enable_mergejoin=off"]
    assert nested.script("SELECT 1") == (
        "SET enable_hashjoin = off; SET enable_mergejoin = off; SELECT 1"
    )
    assert nested.restore == ()  # set on a connection of their own
    drawn = {menu.pick(2, i) for i in range(200)}
    assert drawn == set(menu.choices)
    with pytest.raises(ValueError, match="none of the planner settings"):
        plans.menu("postgres", ["work_mem"])


def test_connection_options_keep_the_conninfo_and_its_own_options() -> None:
    settings = plans.menu("postgres", PG_NAMES).choices[0]
    conninfo = "host=db port=5433 dbname=q user=u password='p w' options='-c search_path=s'"
    params = conninfo_to_dict(plans.connection_options(conninfo, settings))
    name, value = settings.values[0]
    assert params["options"] == f"-c search_path=s -c {name}={value}"
    assert {k: params[k] for k in ("host", "port", "dbname", "user", "password")} == {
        "host": "db", "port": "5433", "dbname": "q", "user": "u", "password": "p w"
    }  # fmt: skip
    plain = conninfo_to_dict(plans.connection_options("dbname=q", settings))
    assert plain == {"dbname": "q", "options": f"-c {name}={value}"}


def test_sqlite_has_no_settings_to_draw() -> None:
    for call in (lambda: plans.available_sql("sqlite"), lambda: plans.menu("sqlite", [])):
        with pytest.raises(ValueError, match="needs DuckDB or PostgreSQL"):
            call()


# --- the real engines accept what is drawn ----------------------------------------------------


def test_the_installed_duckdb_accepts_every_rule_it_lists(duck) -> None:
    listed = duck.execute(plans.available_sql("duckdb"))
    assert listed.ok and len(listed.rows) > 10
    menu = plans.menu("duckdb", [row[0] for row in listed.rows])
    assert {"filter_pushdown", "join_order", "statistics_propagation"} <= set(menu.rules)
    every_rule = plans.Settings(
        "all", (f"SET disabled_optimizers = '{','.join(menu.rules)}'",),
        ("SET disabled_optimizers = ''",),
    )  # fmt: skip
    for settings in {menu.pick(0, i) for i in range(20)} | {every_rule}:
        for statement in (*settings.statements, *settings.restore):
            outcome = duck.execute(statement)
            assert outcome.ok, (statement, outcome.error)
    shown = "SELECT current_setting('disabled_optimizers'), current_setting('enable_optimizer')"
    assert duck.execute(shown).rows == [("", True)]


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_postgresql_plans_under_each_set_on_a_connection_of_its_own(querygen_pg) -> None:
    with PostgresClient(querygen_pg) as pg:
        listed = pg.execute(plans.available_sql("postgres"))
        assert listed.ok
        menu = plans.menu("postgres", [row[0] for row in listed.rows])
        assert len(menu.choices) >= 10  # PostgreSQL 13 and later have every switch but two
        for settings in menu.choices:
            conninfo = plans.connection_options(querygen_pg, settings)
            with PostgresClient(conninfo) as planned:
                for name, value in settings.values:
                    shown = planned.execute(f"SELECT current_setting('{name}')")
                    assert shown.rows == [(value,)], (settings.label, shown.error)
        # the engine's own connection never changed
        assert pg.execute("SELECT current_setting('enable_hashjoin')").rows == [("on",)]
