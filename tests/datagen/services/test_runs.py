"""A run's life through the core runner, in this process: submit, set up, chunks, finish in
results, a second delivery, limbo and resume. The load target is a real SQLite or DuckDB file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from core import jobs
from core.exceptions import AssayError
from core.models import Engine, JobState
from datagen.generator import run_chunks
from datagen.generator.loaders import Target, loaded_chunks, row_counts
from datagen.generator.run import summarize
from datagen.models import Chunk, DatagenRun
from datagen.selectors import run_progress
from datagen.services import runs
from results.models import TestResult, TestRun
from tests.datagen.generator.factories import two_tables
from tests.datagen.services.factories import queued, set_up, work_all

pytestmark = pytest.mark.django_db


@pytest.mark.db_dependent
def test_a_run_generates_writes_loads_and_is_recorded_once(
    spec, engine, tmp_path, django_capture_on_commit_callbacks
):
    out = tmp_path / "out"
    run = runs.submit_run(spec, seed=7, output_dir=str(out), load_engine="target")
    assert run.state == JobState.QUEUED and run.chunk_count == 8
    pks = set_up(run, django_capture_on_commit_callbacks)
    assert len(pks) == 8 and Chunk.objects.filter(run=run, state=JobState.QUEUED).count() == 8
    assert work_all(pks) == ["succeeded"] * 8

    run.refresh_from_db()
    assert run.completed_at is not None and run.results_run == f"datagen-t_{run.pk}"
    # the same chunks generated straight from the library: rows and checksum agree
    expected_rows, expected_checksum = summarize(run_chunks(spec, range(8), 7, tmp_path / "ref"))
    assert row_counts(Target.sqlite(engine.path)) == expected_rows
    assert sorted(p.name for p in (out / "Child").iterdir()) == sorted(
        f"chunk_{i}.parquet" for i in range(8)
    )
    assert len(loaded_chunks(Target.sqlite(engine.path), str(run.key))) == 8
    results = {r.test_name: r for r in TestResult.objects.filter(run__name=run.results_run)}
    assert set(results) == {"datagen.t.Parent", "datagen.t.Child", "datagen.t.dataset"}
    assert all(r.status == "P" for r in results.values())
    assert results["datagen.t.Child"].tra["rows"] == str(expected_rows["Child"])
    assert results["datagen.t.dataset"].tra["checksum"] == expected_checksum
    progress = run_progress(run)
    assert progress.phase == "finished" and progress.counts["completed"] == 8
    assert progress.rows == sum(expected_rows.values()) and progress.bytes > 0

    # a second delivery of every task changes nothing
    assert work_all(pks) == ["skipped"] * 8
    assert jobs.run_job("datagen.DatagenRun", run.pk) == "skipped"
    assert runs.finish_run_if_done(run.pk) is False
    assert TestRun.objects.filter(name=run.results_run).count() == 1


@pytest.mark.db_dependent
def test_failing_chunks_go_to_limbo_and_resume_completes_them(
    spec, engine, tmp_path, django_capture_on_commit_callbacks
):
    import sqlite3

    run = runs.submit_run(
        spec, seed=5, chunks="0-3", output_format="none", load_engine="target", chunk_attempts=2
    )
    pks = set_up(run, django_capture_on_commit_callbacks)
    assert jobs.run_job("datagen.Chunk", pks[0]) == "succeeded"
    # the Child table disappears under the run: every later load fails for real
    with sqlite3.connect(engine.path) as conn:
        conn.execute('ALTER TABLE "Child" RENAME TO "Child_away"')
    with django_capture_on_commit_callbacks(execute=True):
        assert [jobs.run_job("datagen.Chunk", pk) for pk in pks[1:]] == ["retry"] * 3
    assert [jobs.run_job("datagen.Chunk", pk) for pk in pks[1:]] == ["failed"] * 3
    limbo = Chunk.objects.filter(run=run, state=JobState.FAILED)
    assert limbo.count() == 3 and "no such table" in limbo.first().error
    run.refresh_from_db()
    assert run.completed_at is not None
    failing = dict(
        TestResult.objects.filter(run__name=run.results_run).values_list("test_name", "status")
    )
    assert failing["datagen.t.Child"] == "F" and failing["datagen.t.limbo.chunk_2"] == "F"
    progress = run_progress(run)
    assert progress.phase == "finished with limbo"
    assert [c for c, _ in progress.limbo] == [1, 2, 3]

    finished_first = Chunk.objects.get(pk=pks[0]).finished_at
    with sqlite3.connect(engine.path) as conn:
        conn.execute('ALTER TABLE "Child_away" RENAME TO "Child"')
    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        summary = runs.resume_run(run)
    assert (summary.requeued, summary.completed, summary.left_running) == (3, 1, 0)
    assert sorted(queued("datagen.Chunk")) == sorted(pks[1:])
    assert work_all(pks[1:]) == ["succeeded"] * 3
    assert Chunk.objects.get(pk=pks[0]).finished_at == finished_first  # not touched
    run.refresh_from_db()
    statuses = dict(
        TestResult.objects.filter(
            run__name=run.results_run, run__deleted_at__isnull=True
        ).values_list("test_name", "status")
    )
    # recorded afresh: the limbo failures of the first record are gone
    assert statuses == {"datagen.t.Parent": "P", "datagen.t.Child": "P", "datagen.t.dataset": "P"}
    assert len(loaded_chunks(Target.sqlite(engine.path), str(run.key))) == 4


def test_replace_tables_drops_the_previous_dataset(
    spec, engine, tmp_path, django_capture_on_commit_callbacks
):
    for _ in range(2):
        run = runs.submit_run(
            spec,
            seed=1,
            chunks="0",
            output_format="none",
            load_engine="target",
            replace_tables=True,
        )
        work_all(set_up(run, django_capture_on_commit_callbacks))
        OrmQ.objects.all().delete()
    assert row_counts(Target.sqlite(engine.path)) == {"Parent": 50, "Child": 200}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"chunks": "99"}, "not a chunk id"),
        ({"chunks": "first:0"}, "at least 1"),
        ({"seed": -1}, "seed"),
        ({"seed": "7"}, "seed"),
        ({"output_format": "xlsx"}, "output format"),
        ({"output_format": "none"}, "Nothing to do"),
        ({"load_engine": "nope"}, "No engine named 'nope'"),
        ({"chunk_attempts": 0}, "Attempts"),
    ],
)
def test_bad_requests_create_nothing(spec, engine, options, message):
    with pytest.raises(AssayError, match=message):
        runs.submit_run(spec, **options)
    assert not DatagenRun.objects.exists() and not OrmQ.objects.exists()


def test_a_missing_engine_password_is_refused_at_submit(spec, monkeypatch):
    Engine.objects.create(
        name="pg", kind="postgresql", host="127.0.0.1", database="x", password_env="NO_SUCH_PW"
    )
    monkeypatch.delenv("NO_SUCH_PW", raising=False)
    with pytest.raises(AssayError, match="NO_SUCH_PW"):
        runs.submit_run(spec, load_engine="pg")
    assert not DatagenRun.objects.exists()


def test_bad_specs_are_refused_with_the_key_named():
    with pytest.raises(AssayError, match="no bundled spec 'fakdb'"):
        runs.resolve_spec("fakdb")
    data = two_tables()
    data["tables"]["Child"]["columns"]["parent_id"]["table"] = "Nobody"
    with pytest.raises(AssayError, match=r"Bad spec: .*tables\.Child\.columns\.parent_id"):
        runs.resolve_spec(data)
    with pytest.raises(AssayError, match="bundled spec"):
        runs.resolve_spec(["not", "a", "spec"])


@pytest.mark.db_dependent
def test_a_run_whose_last_chunk_the_reaper_failed_is_finished(
    spec, tmp_path, django_capture_on_commit_callbacks
):
    """The reaper tells the app (after_finish), which finishes the run; the sweep, kept for
    a worker that died between its chunk's end and the run's, finds nothing left."""
    run = runs.submit_run(spec, seed=2, chunks="0", output_dir=str(tmp_path), chunk_attempts=1)
    (pk,) = set_up(run, django_capture_on_commit_callbacks)
    jobs.claim(Chunk, pk, "dead-worker")
    Chunk.objects.filter(pk=pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    jobs.reap_jobs()
    assert Chunk.objects.get(pk=pk).state == JobState.FAILED
    run.refresh_from_db()
    assert run.completed_at is not None
    assert runs.sweep() == 0


def test_the_sweep_finishes_a_run_its_last_worker_did_not(
    spec, tmp_path, django_capture_on_commit_callbacks
):
    run = runs.submit_run(spec, seed=2, chunks="0", output_dir=str(tmp_path), chunk_attempts=1)
    (pk,) = set_up(run, django_capture_on_commit_callbacks)
    # The chunk's row finished, its worker died before finishing the run.
    Chunk.objects.filter(pk=pk).update(state=JobState.FAILED, error="boom")
    assert runs.sweep() == 1
    run.refresh_from_db()
    assert run.completed_at is not None
    assert runs.sweep() == 0


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_a_run_loads_into_a_postgresql_engine(
    spec, pg_database, monkeypatch, django_capture_on_commit_callbacks
):
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(pg_database)
    monkeypatch.setenv("PG_TARGET_PASSWORD", params.get("password") or "unused")
    Engine.objects.create(
        name="pg-target",
        kind="postgresql",
        host=params["host"],
        port=int(params["port"]),
        database=params["dbname"],
        user=params["user"],
        password_env="PG_TARGET_PASSWORD",
    )
    run = runs.submit_run(
        spec, seed=8, chunks="0-2", output_format="none", load_engine="pg-target",
        replace_tables=True,
    )  # fmt: skip
    pks = set_up(run, django_capture_on_commit_callbacks)
    assert work_all(pks) == ["succeeded"] * 3
    target = Target.postgresql(Engine.objects.get(name="pg-target").conninfo())
    assert row_counts(target) == {"Child": 600, "Parent": 150}
    assert sorted(loaded_chunks(target, str(run.key))) == [0, 1, 2]
