"""A smoke run of benchmarks/migrations_gate.py in its quick mode, as a process of its own, on
the suite's PostgreSQL server: its figures printed with their goals (never judged here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

pytestmark = [pytest.mark.db_dependent, pytest.mark.postgresql_only]
ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"\d[\d,]*(?:\.\d+)?"


def test_the_benchmark_prints_both_figures_with_their_goals(request) -> None:
    proc = request.getfixturevalue("assay_postgresql_proc")
    server = make_conninfo(host=proc.host, port=proc.port, user=proc.user, dbname="postgres")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "migrations_gate.py"), "--quick",
         "--postgres-url", server],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, (out[-3000:], done.stderr[-3000:])
    summary = out[out.index("== migrations gate: speed") :]
    for pattern in (
        rf"load average {NUMBER} {NUMBER} {NUMBER}",
        rf"anchor: manage\.py migrate --no-input +median +{NUMBER} s",
        rf"gate: run_driver, each migration watched +median +{NUMBER} s",
        rf"ratio gate/anchor: {NUMBER}x +goal <= 1\.2x: (MET|MISSED)",
        rf"anchor: createdb \+ pg_restore -d +median +{NUMBER} s",
        rf"clone\(\): \.\.\. TEMPLATE \(FILE_COPY\) +median +{NUMBER} s",
        rf"the same, STRATEGY WAL_LOG \(the default\) +median +{NUMBER} s",
        rf"ratio restore/clone: {NUMBER}x +goal >= 10x: (MET|MISSED)",
        r"clone\(\)'s FILE_COPY (is clearly faster than|against) WAL_LOG",
    ):
        assert re.search(pattern, summary), (pattern, summary)
    assert re.search(r"\(1\) repeat 2/2 \(anchor then gate\)", out)  # progress, order alternated
    # Everything it made on the server is gone.
    with psycopg.connect(server) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'assay_bench_gate_%'"
        ).fetchall()
    assert left == []
