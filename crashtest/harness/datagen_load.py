"""The datagen workload: data generation runs submitted over the API, loaded into one SQLite
target, while workers die under them. Each run is labelled, so a submission whose answer was
lost is still recognised if the site made it (recovered).

Accounting is per chunk (`<label>:<chunk>`): attempted and acknowledged are the chunks of the
runs submitted and accepted; what is observed is the target's ledger, which holds a row per
chunk loaded, in the same transaction as the chunk's rows. Beyond the total-queue rows:

- checksum: each loaded chunk equals the crash-free run's chunk (same spec, same seed);
- rows: the rows in the target's tables add up to the ledger's (no chunk's rows twice, or half);
- runs finished: every accepted run finished with no chunk in limbo, and is recorded in results;
- duplicated executions: chunk attempts beyond the first (a killed or frozen worker's chunk
  worked again): counted, not a failure, that is the design.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from crashtest.harness.accounting import Check, total_queue
from crashtest.harness.api import Api
from crashtest.harness.workload import RunsWorkload
from dbkinds import sqlite
from dbkinds.base import LEDGER_TABLE


def crash_spec(chunks: int, rows: int) -> dict:
    """Two related tables, `rows` parents a chunk (four children each): small enough that a
    chunk takes a fraction of a second, so kills land mid-chunk."""
    return {
        "name": "crash",
        "chunking": {"kind": "integer", "num_chunks": chunks},
        "tables": {
            "Parent": {
                "rows": rows,
                "columns": {
                    "id": {"type": "int64", "generator": "sequence"},
                    "name": {"type": "string", "generator": "words"},
                },
            },
            "Child": {
                "rows": {"ratio": 4, "of": "Parent"},
                "columns": {
                    "id": {"type": "int64", "generator": "sequence"},
                    "parent_id": {"type": "int64", "generator": "ref", "table": "Parent"},
                },
            },
        },
    }


def read_ledger(target: Path, dataset: str) -> list[tuple[str, int, int, str]]:
    """(run key, chunk, rows, checksum) of every chunk loaded into `target`."""
    return read_target(target, dataset, [])[0]


def read_target(
    target: Path, dataset: str, tables: list[str]
) -> tuple[list[tuple[str, int, int, str]], int]:
    """The ledger's rows of `dataset` and the rows in `tables`, read in one transaction: a
    chunk loaded meanwhile is in both or in neither."""
    if not target.exists():
        return [], 0
    with contextlib.closing(sqlite.connect(str(target), read_only=True)) as db:
        db.execute("BEGIN")
        if LEDGER_TABLE not in sqlite.list_tables(db, include_ledger=True):
            return [], 0
        ledger = db.execute(
            f"SELECT run, chunk_id, rows, checksum FROM {LEDGER_TABLE} WHERE dataset = ?",  # noqa: S608
            [dataset],
        ).fetchall()
        rows = sum(
            db.execute(f"SELECT COUNT(*) FROM {sqlite.quote(t)}").fetchone()[0]  # noqa: S608
            for t in tables
        )
        db.execute("COMMIT")
    return ledger, rows


class DatagenWorkload(RunsWorkload):
    name = "datagen"
    path = "/api/v1/datagen/runs/"

    def __init__(
        self,
        api: Api,
        *,
        spec: dict,
        seed: int,
        engine: str,
        target: Path,
        reference: dict[int, tuple[int, str]],
        in_flight: int = 2,
        on_done: Callable[[str, int], None] | None = None,
    ) -> None:
        """`reference`: chunk -> (rows, checksum) of the crash-free run of the same spec and
        seed; `on_done(name, n)` hears chunks completed, as they are seen."""
        super().__init__(api, seed=seed, in_flight=in_flight, on_done=on_done)
        self.spec = spec
        self.engine = engine
        self.target = target
        self.reference = reference

    def body(self, label: str) -> dict:
        return {
            "spec": self.spec,
            "seed": self.seed,
            "load_engine": self.engine,
            "chunk_attempts": 20,  # a chunk may be on a killed worker many times
            "label": label,
        }

    def progress(self, run: dict) -> tuple[int, bool]:
        done = run["progress"]["counts"]["completed"]
        return done, bool(run["completed_at"]) or run["setup_state"] == "failed"

    # --- while running and at the end --------------------------------------------------------

    def sanity(self) -> list[str]:
        """What can be checked while the run goes on: every chunk loaded so far is the
        crash-free run's chunk."""
        return [
            f"chunk {chunk} of run {key} loaded with checksum {checksum}"
            for key, chunk, _, checksum in read_ledger(self.target, self.spec["name"])
            if self.reference.get(chunk, (None, None))[1] != checksum
        ]

    def check(self, deadline: float) -> list[Check]:
        runs = self.runs_by_label(deadline)
        chunks = self.reference.keys()
        label_of = {self._key(run["id"], deadline): label for label, run in runs.items()}
        ledger, in_tables = read_target(self.target, self.spec["name"], list(self.spec["tables"]))
        observed = [f"{label_of.get(key, key)}:{chunk}" for key, chunk, _, _ in ledger]
        rows = total_queue(
            self.name,
            attempted=[f"{label}:{c}" for label in self.attempted for c in chunks],
            acknowledged=[f"{label}:{c}" for label in self.acknowledged for c in chunks],
            observed=observed,
            refused=[f"{label}:{c}" for label in self.refused for c in chunks],
        )
        wrong = [
            f"{label_of.get(key, key)}:{chunk}"
            for key, chunk, count, checksum in ledger
            if self.reference.get(chunk) != (count, checksum)
        ]
        rows.append(
            Check(
                self.name,
                "checksum",
                len(wrong),
                not wrong,
                detail=", ".join(wrong[:10]) or "every chunk loaded equals the crash-free run's",
            )
        )
        in_ledger = sum(count for _, _, count, _ in ledger)
        rows.append(
            Check(
                self.name,
                "rows",
                in_tables - in_ledger,
                in_tables == in_ledger,
                detail=f"{in_tables:,} rows in the tables, {in_ledger:,} in the ledger",
            )
        )
        unfinished, executions = [], 0
        for label, pk in self.acknowledged.items():
            run = self.api.get(f"{self.path}{pk}/", deadline)
            limbo = run["progress"]["counts"]["limbo"]
            if not run["completed_at"] or limbo or not run["results_run"]:
                unfinished.append(f"{label} ({run['progress']['phase']}, {limbo} in limbo)")
            for chunk in self.api.get_all(f"{self.path}{pk}/chunks/", deadline):
                executions += max(0, chunk["attempts"] - 1)
        rows.append(
            Check(
                self.name,
                "runs finished",
                len(self.acknowledged) - len(unfinished),
                not unfinished,
                detail="; ".join(unfinished[:5]),
            )
        )
        rows.append(
            Check(
                self.name,
                "duplicated executions",
                executions,
                fails_run=False,
                detail="chunk attempts beyond the first (by design: effects stay once)",
            )
        )
        return rows

    def _key(self, pk: int, deadline: float) -> str:
        return self.api.get(f"{self.path}{pk}/", deadline)["key"]
