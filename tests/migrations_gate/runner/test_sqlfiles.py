"""A directory of Flyway-style SQL migrations: discovered in version order, applied one per
process with their history row, on PostgreSQL and SQLite."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from migrations_gate.runner.sqlfiles import (
    HISTORY_TABLE,
    MigrationsError,
    applied_versions,
    discover,
)
from migrations_gate.runner.steps import run_driver

ROOT = Path(__file__).resolve().parents[3]


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def test_migrations_are_ordered_by_version_as_numbers(tmp_path) -> None:
    d = write(tmp_path / "m", {
        "V10__ten.sql": "", "V2__two.sql": "", "V1.1__one_one.sql": "", "V1__one.sql": "",
        "V2_5__two_five.sql": "", "README.md": "", "R__repeatable.txt": "", "Vnotes.txt": "",
    })  # fmt: skip
    assert [m.id for m in discover(d)] == [
        "V1__one", "V1.1__one_one", "V2__two", "V2_5__two_five", "V10__ten",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"V1__a.sql": "", "V1.0__b.sql": ""}, "V1.0__b.sql and V1__a.sql have one version"),
        ({"V1_a.sql": ""}, "V1_a.sql: a migration is named V<version>__<name>.sql"),
        ({"Vx__a.sql": ""}, "Vx__a.sql: a migration is named"),
    ],
)
def test_a_directory_that_cannot_be_ordered_is_refused(tmp_path, files, message) -> None:
    with pytest.raises(MigrationsError, match="^" + message.replace(".", r"\.")):
        discover(write(tmp_path / "m", files))


def test_a_missing_directory_is_refused(tmp_path) -> None:
    with pytest.raises(MigrationsError, match="no such migrations directory"):
        discover(tmp_path / "nope")


def test_the_driver_applies_each_pending_file_with_its_history_row_or_not_at_all(
    tmp_path,
) -> None:
    d = write(tmp_path / "m", {
        "V1__init.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT);\n"
                        "INSERT INTO t VALUES (1, 'a;b');\n",
        "V2__broken.sql": "INSERT INTO t VALUES (2, 'x');\nINSERT INTO nope VALUES (1);\n",
    })  # fmt: skip
    db = tmp_path / "d.sqlite"
    run = run_driver(
        [sys.executable, "-m", "migrations_gate.runner.sqlfiles", str(d), "--sqlite", str(db)],
        env=dict(os.environ), cwd=ROOT, deadline=time.monotonic() + 60,
    )  # fmt: skip
    assert [(s.migration, s.status) for s in run.steps] == [
        ("V1__init", "ok"), ("V2__broken", "failed"),
    ]  # fmt: skip
    assert run.exit_code == 1 and not run.ended
    assert any("no such table: nope" in line for line in run.steps[1].tail)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT * FROM t").fetchall() == [(1, "a;b")]  # V2 left nothing
        assert applied_versions(conn, sqlite=True) == {(1,)}
        row = conn.execute(f"SELECT version, description, script FROM {HISTORY_TABLE}").fetchall()
        assert row == [("1", "init", "V1__init.sql")]
    # Fixed, the next run applies only what is pending and ends at the latest version
    (d / "V2__broken.sql").write_text("INSERT INTO t VALUES (2, 'x');\n")
    run = run_driver(
        [sys.executable, "-m", "migrations_gate.runner.sqlfiles", str(d), "--sqlite", str(db)],
        env=dict(os.environ), cwd=ROOT, deadline=time.monotonic() + 60,
    )  # fmt: skip
    assert [s.migration for s in run.steps] == ["V2__broken"]
    assert run.ended and run.left == 0 and run.exit_code == 0


def test_a_driver_on_a_directory_that_cannot_be_ordered_exits_with_the_reason(tmp_path) -> None:
    d = write(tmp_path / "m", {"V1__a.sql": "", "V01__b.sql": ""})
    run = run_driver(
        [sys.executable, "-m", "migrations_gate.runner.sqlfiles", str(d), "--sqlite",
         str(tmp_path / "d.sqlite")],
        env=dict(os.environ), cwd=ROOT, deadline=time.monotonic() + 60,
    )  # fmt: skip
    assert run.exit_code == 2 and not run.steps and not run.ended
    assert run.tail == ["error: V01__b.sql and V1__a.sql have one version"]
