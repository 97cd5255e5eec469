"""A run's life: submit (validate everything, create the row), set up (tables, chunk rows,
tasks), finish (record in results once every chunk is completed or in limbo), resume."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from core import jobs
from core.engines import get_engine
from core.exceptions import AssayError, Conflict
from core.models import Engine, JobState
from core.secrets import scrub_each
from datagen.generator import ChunkSelectionError, SpecError
from datagen.generator.targets import LoaderError, UnsupportedType

if TYPE_CHECKING:
    from datagen.generator import Spec
from datagen.models import Chunk, DatagenRun, OutputFormat
from datagen.services.chunks import spec_of
from datagen.services.engines import target_for
from results.services import (
    ImportDefaults,
    ParsedResult,
    delete_runs,
    find_runs,
    record_run,
)

MAX_ATTEMPTS = 20
MAX_SEED = 2**63 - 1
PENDING = (JobState.QUEUED, JobState.RUNNING)


# --- submitting ---------------------------------------------------------------------------------


def resolve_spec(spec: str | dict[str, Any]) -> Spec:
    """A bundled spec by name, or a spec given as a mapping (from JSON or YAML)."""
    from datagen.generator import load_bundled_spec, parse_spec

    try:
        if isinstance(spec, str):
            return load_bundled_spec(spec)
        if isinstance(spec, dict):
            return parse_spec(spec)
    except SpecError as exc:
        raise AssayError(f"Bad spec: {exc}", code="bad_spec") from None
    raise AssayError(
        "The spec is the name of a bundled spec (fakedb, querygen) or a spec object.",
        code="bad_spec",
    )


def read_spec_file(path: str) -> Spec:
    """A spec from a .yaml/.yml/.json file (the CLI's way); a bare name is a bundled spec."""
    from datagen.generator import loads_spec

    file = Path(path)
    if not file.suffix:
        return resolve_spec(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AssayError(f"Cannot read the spec {path}: {exc}", code="bad_spec") from None
    try:
        return loads_spec(
            text, "json" if file.suffix.lower() == ".json" else "yaml", name=file.stem
        )
    except SpecError as exc:
        raise AssayError(f"Bad spec {path}: {exc}", code="bad_spec") from None


def _check_loadable(spec: Spec, engine: Engine) -> None:
    from datagen.generator.loaders import sql_type

    for table in spec.tables.values():
        for field in table.arrow_schema:
            try:
                sql_type(engine.kind, field.type)
            except UnsupportedType as exc:
                raise AssayError(
                    f"Table {table.name}, column {field.name}: {exc}", code="bad_spec"
                ) from None
    try:
        target_for(engine)  # reads the password from the environment: missing is an error now
    except ValueError as exc:
        raise AssayError(f"Engine {engine.name}: {exc}") from None


def _chunk_ids(spec: Spec, chunks: str) -> list[int]:
    from datagen.generator import select_chunks

    try:
        return select_chunks(spec.chunker, chunks)
    except ChunkSelectionError as exc:
        raise AssayError(f"Bad chunk selection: {exc}", code="bad_chunks") from None


def _new_run(
    spec: Spec,
    *,
    seed: int | None = None,
    chunks: str = "all",
    output_format: str = OutputFormat.PARQUET,
    output_dir: str = "",
    load_engine: str | None = None,
    replace_tables: bool = False,
    chunk_attempts: int = 3,
    label: str = "",
) -> tuple[DatagenRun, list[int]]:
    """Validate everything a worker will need, so a bad request creates nothing."""
    if seed is None:
        seed = secrets.randbelow(2**31)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise AssayError(f"The seed is a whole number from 0 to {MAX_SEED}.", code="bad_seed")
    if output_format not in OutputFormat.values:
        raise AssayError(
            f"Unknown output format {output_format!r}: one of {', '.join(OutputFormat.values)}.",
            code="bad_format",
        )
    if not isinstance(chunk_attempts, int) or not 1 <= chunk_attempts <= MAX_ATTEMPTS:
        raise AssayError(f"Attempts per chunk: 1 to {MAX_ATTEMPTS}.", code="bad_attempts")
    engine = get_engine(load_engine) if load_engine else None
    if output_format == OutputFormat.NONE and engine is None:
        raise AssayError(
            "Nothing to do: no output files (format none) and no engine to load into.",
            code="nothing_to_do",
        )
    if engine is not None:
        _check_loadable(spec, engine)
    if output_dir and Path(output_dir).exists() and not Path(output_dir).is_dir():
        raise AssayError(f"The output {output_dir} exists and is not a folder.")
    ids = _chunk_ids(spec, chunks)
    run = DatagenRun(
        label=label[:100],
        spec_name=spec.name,
        spec=json.loads(spec.as_json()),
        seed=seed,
        chunks=chunks.strip(),
        chunk_count=len(ids),
        output_format=output_format,
        output_dir=output_dir,
        load_engine=engine,
        replace_tables=replace_tables,
        chunk_attempts=chunk_attempts,
    )
    return run, ids


def submit_run(spec: Spec, **options: Any) -> DatagenRun:
    """Create the run and queue its setup; raises AssayError (nothing created) on bad input.
    Options: seed (default: random, stored), chunks ("all", "first:N", "0-63,70"),
    output_format (parquet, csv, none), output_dir, load_engine (an Engine's name),
    replace_tables, chunk_attempts (1-20), label."""
    run, _ = _new_run(spec, **options)
    return jobs.submit(run)


# --- setting up ---------------------------------------------------------------------------------


def set_up_run(run: DatagenRun) -> None:
    """The run's job: the target's tables, then the chunk rows and their tasks in one
    transaction. Runs again safely (a second delivery, a resume): existing rows are kept,
    only chunks never queued are queued."""
    from datagen.generator import select_chunks
    from datagen.generator.loaders import create_tables, forget_dataset

    spec = spec_of(run)
    first_time = not run.chunk_rows.exists()
    if run.load_engine_id:
        target = target_for(run.load_engine)
        schemas = {name: t.arrow_schema for name, t in spec.tables.items()}
        # Tables are replaced only before any chunk exists: never under a running load.
        replace = run.replace_tables and first_time
        if replace:
            forget_dataset(target, spec.name)
        try:
            create_tables(target, schemas, replace=replace)
        except LoaderError as exc:
            raise AssayError(f"Cannot create the tables on {run.load_engine.name}: {exc}") from exc
        run.log(f"tables {', '.join(schemas)} ready on {target.describe()}")
    ids = select_chunks(spec.chunker, run.chunks)
    with transaction.atomic():
        Chunk.objects.bulk_create(
            [Chunk(run=run, chunk_id=c, max_attempts=run.chunk_attempts) for c in ids],
            ignore_conflicts=True,
            batch_size=1000,
        )
        fresh = list(
            run.chunk_rows.filter(state=JobState.QUEUED, enqueued_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        jobs.enqueue_many(Chunk, fresh)
    run.log(f"{len(ids)} chunks; {len(fresh)} queued")


# --- finishing ----------------------------------------------------------------------------------


def results_run_name(run: DatagenRun) -> str:
    # The prefix (before "_") is per spec, so a run compares with the previous run of its spec.
    return f"datagen-{run.spec_name.replace('_', '-')}_{run.pk}"


def finish_run_if_done(run_id: int) -> bool:
    """Record the run in results once its setup succeeded and no chunk is pending. Exactly one
    caller wins (a conditional update in the same transaction as the record)."""
    # Most chunks finish with others still pending: say so without taking the write lock.
    if Chunk.objects.filter(run_id=run_id, state__in=PENDING).exists():
        return False
    with transaction.atomic():
        run = DatagenRun.objects.filter(pk=run_id).first()
        if run is None or run.state != JobState.SUCCEEDED or run.completed_at is not None:
            return False
        chunks = run.chunk_rows
        if chunks.filter(state__in=PENDING).exists() or chunks.count() < run.chunk_count:
            return False
        name = results_run_name(run)
        won = DatagenRun.objects.filter(pk=run.pk, completed_at__isnull=True).update(
            completed_at=Now(), results_run=name
        )
        if not won:
            return False
        # A resumed run is recorded afresh: its earlier record's limbo failures go with it.
        delete_runs(find_runs(name))
        results = scrub_each(_results(run, name), "log")  # results are public: no secret in them
        record_run(results, ImportDefaults(run=name), source=f"datagen run {run.pk}")
    run.log(f"finished; recorded in results as {name}")
    return True


def _results(run: DatagenRun, name: str) -> list[ParsedResult]:
    """One test per table (failing when a chunk is in limbo), one failing test per limbo
    chunk, and one for the dataset with its checksum."""
    from datagen.generator import dataset_checksum

    spec = spec_of(run)
    rows = dict.fromkeys(spec.tables, 0)
    pairs, limbo, foreign = [], [], 0
    for chunk_id, state, table_rows, checksum, error in run.chunk_rows.values_list(
        "chunk_id", "state", "table_rows", "checksum", "error"
    ):
        if state == JobState.FAILED:
            limbo.append((chunk_id, error))
            continue
        if not checksum:  # completed by another tool (imported .clg logs)
            foreign += 1
            continue
        pairs.append((chunk_id, checksum))
        for table, count in (table_rows or {}).items():
            rows[table] = rows.get(table, 0) + count
    status = "F" if limbo else "P"
    base = f"datagen.{run.spec_name}"
    now = timezone.now()
    common = {"test_run": name, "project": "datagen", "end_time": now, "start_time": run.created_at}
    note = f"; {len(limbo)} chunk(s) in limbo" if limbo else ""
    if foreign:
        note += f"; {foreign} chunk(s) completed by another tool, not counted"
    out = [
        ParsedResult(
            test_name=f"{base}.{table}",
            status=status,
            log=f"{count} rows in {len(pairs)} chunk(s){note}",
            tra={"rows": str(count), "chunks": str(len(pairs))},
            **common,
        )
        for table, count in rows.items()
    ]
    checksum = dataset_checksum(pairs)
    out.append(
        ParsedResult(
            test_name=f"{base}.dataset",
            status=status,
            log=f"seed {run.seed}, chunks {run.chunks}: checksum {checksum}{note}",
            tra={"checksum": checksum, "seed": str(run.seed), "rows": str(sum(rows.values()))},
            **common,
        )
    )
    out.extend(
        ParsedResult(
            test_name=f"{base}.limbo.chunk_{chunk_id}",
            status="F",
            log=error or "failed (no error recorded)",
            **common,
        )
        for chunk_id, error in limbo
    )
    return out


def setup_finished(run: DatagenRun, state: str) -> None:
    """After a run's setup: the last chunk may have finished before the setup was marked done,
    so finishing is tried here too."""
    if state == JobState.SUCCEEDED:
        finish_run_if_done(run.pk)


def chunk_finished(chunk: Chunk, state: str) -> None:
    """After a chunk (completed, or in limbo for good): the run may be done."""
    finish_run_if_done(chunk.run_id)


def sweep() -> int:
    """Scheduled: finish runs whose last chunk was failed by the reaper (no worker to do it)."""
    waiting = DatagenRun.objects.filter(state=JobState.SUCCEEDED, completed_at__isnull=True)
    return sum(finish_run_if_done(pk) for pk in waiting.values_list("pk", flat=True))


# --- resuming -----------------------------------------------------------------------------------


@dataclass
class ResumeSummary:
    requeued: int = 0
    left_running: int = 0  # assigned, with a live lease: their worker may still be on them
    completed: int = 0
    setup_requeued: bool = False


def resume_run(run: DatagenRun) -> ResumeSummary:
    """Queue again every chunk that is not completed (target, limbo, assigned with an expired
    lease or to a worker of this host whose process is gone), with fresh attempts; completed
    chunks are not touched."""
    summary = ResumeSummary()
    with transaction.atomic():
        run = DatagenRun.objects.get(pk=run.pk)
        if (
            run.state == JobState.RUNNING
            and run.lease_expires_at
            and run.lease_expires_at > (timezone.now())
            and not jobs.worker_is_dead(run.worker)
        ):
            raise Conflict(f"Run {run.pk} is being set up by {run.worker}; try again shortly.")
        if run.state != JobState.SUCCEEDED:
            DatagenRun.objects.filter(pk=run.pk).update(
                state=JobState.QUEUED, attempts=0, error="", worker="", lease_expires_at=None
            )
            jobs.enqueue(run)
            summary.setup_requeued = True
        chunks = run.chunk_rows
        holders = chunks.filter(state=JobState.RUNNING).values_list("worker", flat=True)
        dead = [w for w in holders.distinct() if jobs.worker_is_dead(w)]
        again = chunks.filter(
            Q(state__in=(JobState.QUEUED, JobState.FAILED))
            | Q(state=JobState.RUNNING, lease_expires_at__lt=Now())
            | Q(state=JobState.RUNNING, worker__in=dead)
        )
        pks = list(again.values_list("pk", flat=True))
        for start in range(0, len(pks), 500):
            Chunk.objects.filter(pk__in=pks[start : start + 500]).update(
                state=JobState.QUEUED,
                attempts=0,
                worker="",
                error="",
                lease_expires_at=None,
                finished_at=None,
            )
        jobs.enqueue_many(Chunk, pks)
        summary.requeued = len(pks)
        summary.left_running = chunks.filter(state=JobState.RUNNING).count()
        summary.completed = chunks.filter(state=JobState.SUCCEEDED).count()
        DatagenRun.objects.filter(pk=run.pk).update(completed_at=None)
    run.log(f"resumed: {summary.requeued} chunk(s) queued again")
    return summary
