"""manage.py datagen: run, work, status, resume, copy, export-logs, import-logs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.models import Engine, JobState
from datagen.generator.loaders import Target, row_counts, table_checksum
from datagen.models import Chunk, DatagenRun
from tests.datagen.generator.factories import two_tables

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _datagen_root(settings, tmp_path):
    settings.ASSAY_DATAGEN_ROOT = tmp_path / "datagen"


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.json"
    path.write_text(json.dumps(two_tables()))
    return path


def datagen(*args: str) -> str:
    out = io.StringIO()
    call_command("datagen", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_run_generates_loads_and_reports(spec_file, tmp_path):
    Engine.objects.create(name="db", kind="sqlite", path=str(tmp_path / "db.sqlite"))
    out = datagen(
        "run", str(spec_file), "--seed", "4", "--chunks", "0-3", "--out", str(tmp_path / "o"),
        "--load", "db",
    )  # fmt: skip
    run = DatagenRun.objects.get()
    assert f"run {run.pk}: t, seed 4, 4 chunk(s)" in out
    assert f"run {run.pk} finished: 4 completed, 0 in limbo" in out
    assert f"results: datagen-t_{run.pk}" in out
    assert row_counts(Target.sqlite(tmp_path / "db.sqlite")) == {"Parent": 200, "Child": 800}
    assert len(list((tmp_path / "o" / "Parent").glob("chunk_*.parquet"))) == 4

    listing = datagen("status")
    assert "finished" in listing and "4/4" in listing
    one = datagen("status", str(run.pk))
    assert "target 0  assigned 0  completed 4  limbo 0" in one and "1,000 rows" in one


def test_run_detach_leaves_the_work_to_the_workers(spec_file):
    out = datagen("run", str(spec_file), "--chunks", "first:2", "--detach")
    run = DatagenRun.objects.get()
    assert "datagen status" in out and run.state == JobState.QUEUED
    assert not Chunk.objects.exists()
    datagen("work", str(run.pk), "--no-progress")
    assert Chunk.objects.filter(run=run, state=JobState.SUCCEEDED).count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "fakdb"], "no bundled spec 'fakdb'"),
        (["run", "missing.yaml"], "Cannot read the spec missing.yaml"),
        (["run", "querygen", "--chunks", "7-9"], "no chunk of"),
        (["run", "querygen", "--load", "ghost"], "No engine named 'ghost'"),
        (["run", "querygen", "--workers", "-1"], "--workers"),
        (["status", "42"], "no datagen run 42"),
        (["copy", "a", "b"], "No engine named 'a'"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    with pytest.raises(CommandError, match=message) as info:
        datagen(*args)
    assert "\n" not in str(info.value)
    assert not DatagenRun.objects.exists()


def test_a_bad_spec_file_names_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nchunking: {kind: integer, num_chunks: 2}\ntables:\n  T:\n"
        "    rows: 5\n    columns:\n      a: {type: int64, generator: sequnce}\n"
    )
    with pytest.raises(CommandError, match=r"tables\.T\.columns\.a\.generator"):
        datagen("run", str(bad))


def test_logs_round_trip_through_lsst_clg_files(spec_file, tmp_path):
    logs = tmp_path / "lsst"
    logs.mkdir()
    (logs / "target.clg").write_text("\n".join(str(i) for i in range(8)) + "\n")
    (logs / "assigned.clg").write_text("0\n1\n2\n3\n")
    (logs / "completed.clg").write_text("0\n1\n")
    (logs / "limbo.clg").write_text("2\n1\n")  # 1 is completed as well: completed wins
    out = datagen(
        "import-logs", str(logs), "--spec", str(spec_file), "--seed", "9",
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    run = DatagenRun.objects.get()
    assert "8 chunks" in out and "2 completed, 1 in limbo, 5 to generate" in out
    assert run.chunks == "0-7"

    with pytest.raises(CommandError, match="1 chunk\\(s\\) in limbo; retry them"):
        datagen("work", str(run.pk), "--no-progress")
    states = dict(Chunk.objects.filter(run=run).values_list("chunk_id", "state"))
    assert states[2] == JobState.FAILED and states[0] == JobState.SUCCEEDED
    assert sorted(c for c, s in states.items() if s == JobState.SUCCEEDED) == [0, 1, 3, 4, 5, 6, 7]
    # chunks 0 and 1 were the other tool's: not generated again here
    assert not (tmp_path / "o" / "Parent" / "chunk_0.parquet").exists()

    exported = tmp_path / "exported"
    datagen("export-logs", str(run.pk), str(exported))
    assert (exported / "limbo.clg").read_text() == "2\n"
    assert (exported / "completed.clg").read_text() == "0\n1\n3\n4\n5\n6\n7\n"
    assert (exported / "target.clg").read_text().split() == [str(i) for i in range(8)]

    out = datagen("resume", str(run.pk), "--work", "--no-progress")
    assert "1 chunk(s) queued again, 7 completed kept" in out
    assert "finished: 8 completed, 0 in limbo" in out
    datagen("export-logs", str(run.pk), str(exported))
    assert (exported / "limbo.clg").read_text() == ""
    assert (exported / "assigned.clg").read_text().split() == [str(i) for i in range(8)]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "No target.clg"),
        ({"target.clg": ""}, "names no chunk"),
        ({"target.clg": "0\nabc\n"}, "target.clg:2: 'abc' is not a chunk number"),
        ({"target.clg": "0\n-1\n"}, "target.clg:2"),
        ({"target.clg": b"\x00\xff\x01"}, "binary"),
        ({"target.clg": "0\n99\n"}, r"\[99\] not chunk ids"),
        ({"target.clg": "0\n", "completed.clg": "5\n"}, r"completed.clg: \[5\] not in target"),
    ],
)
def test_bad_chunk_logs_are_refused(spec_file, tmp_path, files, message):
    logs = tmp_path / "lsst"
    logs.mkdir()
    for name, content in files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(logs / name, mode) as fh:
            fh.write(content)
    with pytest.raises(CommandError, match=message):
        datagen("import-logs", str(logs), "--spec", str(spec_file))
    assert not DatagenRun.objects.exists()


def test_copy_between_engines_with_keys_and_indexes(spec_file, tmp_path):
    Engine.objects.create(name="src", kind="sqlite", path=str(tmp_path / "src.sqlite"))
    Engine.objects.create(name="dst", kind="duckdb", path=str(tmp_path / "dst.duckdb"))
    datagen("run", str(spec_file), "--chunks", "0-1", "--format", "none", "--load", "src")
    out = datagen(
        "copy", "src", "dst", "--primary-key", "Parent=id", "--index", "Child=parent_id",
        "--batch-rows", "70", "--no-progress",
    )  # fmt: skip
    assert "Parent: 100 rows copied to dst" in out and "Child: 400 rows copied" in out
    source, dest = Target.sqlite(tmp_path / "src.sqlite"), Target.duckdb(tmp_path / "dst.duckdb")
    for table in ("Parent", "Child"):
        assert table_checksum(source, table) == table_checksum(dest, table)
    with pytest.raises(CommandError, match=r"dst: table '\w+' already exists; add --replace$"):
        datagen("copy", "src", "dst", "--no-progress")
    assert "Parent: 100 rows" in datagen("copy", "src", "dst", "--replace", "--no-progress")
    with pytest.raises(CommandError, match="TABLE=COLUMN"):
        datagen("copy", "src", "dst", "--index", "Child")


def test_demo_generates_the_querygen_dataset_once(settings, tmp_path):
    from datagen.generator.loaders import Target

    settings.VAR_DIR = tmp_path / "var"
    out = datagen("demo")
    run = DatagenRun.objects.get()
    assert "into querygen-duckdb, copied to querygen-sqlite" in out
    sqlite = Target.sqlite(Engine.objects.get(name="querygen-sqlite").path)
    duck = Target.duckdb(Engine.objects.get(name="querygen-duckdb").path)
    counts = row_counts(sqlite)
    assert counts == row_counts(duck) and counts["numbers"] == 8000
    assert run.results_run and run.completed_at
    assert "exist already" in datagen("demo")
    assert DatagenRun.objects.count() == 1
