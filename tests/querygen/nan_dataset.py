"""A small dataset on which DuckDB and SQLite differ in one documented way: SQLite has no NaN
(a NaN stored in a REAL column reads back as NULL), DuckDB keeps it, and orders it above every
number. Everything else (small integers, ASCII text) the two engines agree on."""

from __future__ import annotations

import math
import random
import sqlite3
from pathlib import Path

import duckdb

ROWS = 120
NAN_EVERY = 9  # one row in nine holds NaN


def rows(seed: int = 5) -> tuple[list[tuple], list[tuple]]:
    rng = random.Random(seed)  # noqa: S311
    measures = [
        (i, rng.randrange(10), math.nan if i % NAN_EVERY == 0 else rng.randrange(-500, 500) / 8)
        for i in range(ROWS)
    ]
    labels = [(i, rng.choice(["ab", "cd", "ef", "gh"]), rng.randrange(5)) for i in range(ROWS)]
    return measures, labels


def build(folder: Path) -> tuple[Path, Path]:
    """DuckDB and SQLite files with tables measures(id, k, v) and labels(id, name, k)."""
    measures, labels = rows()
    folder.mkdir(parents=True, exist_ok=True)
    duck_path, lite_path = folder / "nan.duckdb", folder / "nan.sqlite3"
    with duckdb.connect(str(duck_path)) as duck:
        duck.execute("CREATE TABLE measures (id INTEGER PRIMARY KEY, k INTEGER, v DOUBLE)")
        duck.execute("CREATE TABLE labels (id INTEGER PRIMARY KEY, name VARCHAR, k INTEGER)")
        duck.executemany("INSERT INTO measures VALUES (?, ?, ?)", measures)
        duck.executemany("INSERT INTO labels VALUES (?, ?, ?)", labels)
    lite = sqlite3.connect(lite_path)
    with lite:
        lite.execute("CREATE TABLE measures (id INTEGER PRIMARY KEY, k INTEGER, v REAL)")
        lite.execute("CREATE TABLE labels (id INTEGER PRIMARY KEY, name TEXT, k INTEGER)")
        lite.executemany("INSERT INTO measures VALUES (?, ?, ?)", measures)
        lite.executemany("INSERT INTO labels VALUES (?, ?, ?)", labels)
    lite.close()
    return duck_path, lite_path
