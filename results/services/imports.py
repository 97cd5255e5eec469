"""Importing results: parse files, resolve runs, write every result of a file in one go.

A file is all-or-nothing (one transaction). Importing a result whose identity
(run, project, host, context, test_name) is already there replaces it: a re-import, or the
arrival of a test that check_expected had entered as missing (M).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, transaction
from django.utils import timezone

from core.exceptions import AssayError
from results.importers import ParsedFile, ParsedResult, ParseError, parse_file
from results.models import STATUS_LETTERS, Project, TestResult, TestRun
from results.services.bulk import write_results
from results.services.flaky import refresh_flaky_on_commit
from results.services.logs import clip_log
from results.services.runs import (
    get_or_create_run,
    refresh_counts,
    resolve_run_name,
    validate_run_name,
)

DEFAULT_PROJECT = "default"
DEFAULT_CONTEXT = "default"


@dataclass(frozen=True)
class ImportDefaults:
    """Values used where a file does not say (the API's form fields, the CLI's options)."""

    run: str = ""
    project: str = ""
    host: str = ""
    context: str = ""


@dataclass
class RunSummary:
    run: TestRun
    created: bool = False
    imported: int = 0  # results written, all kinds
    new: int = 0
    reimported: int = 0  # replaced an earlier real result
    replaced_missing: int = 0  # replaced an M record
    counts: dict[str, int] = field(default_factory=dict)  # statuses of what this import wrote


@dataclass
class FileSummary:
    filename: str
    format: str
    flavour: str
    results: int
    runs: list[RunSummary]
    warnings: list[str] = field(default_factory=list)  # accepted, but worth telling


class ImportFailed(AssayError):
    """A file was refused; nothing of it (or of its request) was written."""

    code = "bad_file"

    def __init__(self, filename: str, line: int | None, message: str):
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {message}")
        self.filename, self.line, self.message = filename, line, message


def _text(value: str | None, default: str, what: str, limit: int) -> str:
    value = (value or "").strip() or default
    if len(value) > limit:
        raise AssayError(f"{what} {value[:40]!r}... is longer than {limit} characters.")
    if any(ch < " " or ch == "\x7f" for ch in value):
        raise AssayError(f"{what} {value[:40]!r} contains a control character (a line break?).")
    return value


def _nul_field(item: ParsedResult) -> str | None:
    """The first field holding a NUL character (PostgreSQL's text cannot store one)."""
    for name in ("test_name", "log", "location", "test_runner"):
        if "\x00" in getattr(item, name):
            return name
    for name in ("tda", "tra"):
        for key, value in getattr(item, name).items():
            if "\x00" in key or (isinstance(value, str) and "\x00" in value):
                return f"{name}[{key[:40]!r}]"
    return None


def record_run(
    results: Iterable[ParsedResult],
    defaults: ImportDefaults = ImportDefaults(),  # noqa: B008 (frozen dataclass)
    *,
    source: str = "results",
) -> list[RunSummary]:
    """Write results into their runs. The one write path every producer uses.

    Each result's run/project/host/context comes from the result, else from `defaults`.
    Call inside a transaction to make several calls all-or-nothing (import_files does)."""
    now = timezone.now()
    by_run: dict[str, dict[tuple[str, str, str, str], ParsedResult]] = {}
    # Files repeat the same few run/project/host/context values: resolve each combination once.
    scopes: dict[tuple, tuple[str, str, str, str]] = {}
    statuses = frozenset(STATUS_LETTERS)
    for n, item in enumerate(results, start=1):
        raw = (item.test_run, item.project, item.host, item.context)
        scope = scopes.get(raw)
        if scope is None:
            run_name = (item.test_run or "").strip() or defaults.run
            if not run_name:
                raise AssayError(
                    f"{source}: result {n} ({item.test_name[:80]}) names no run, and no default "
                    "run was given (the `run` field of the API, --run of import_results).",
                    code="run_required",
                )
            scope = scopes[raw] = (
                validate_run_name(run_name),
                _text(item.project, defaults.project or DEFAULT_PROJECT, "project", 200),
                _text(item.host, defaults.host, "host", 200),
                _text(item.context, defaults.context or DEFAULT_CONTEXT, "context", 200),
            )
        if item.status not in statuses:
            raise AssayError(f"{source}: result {n} has an invalid status {item.status!r}.")
        if not item.test_name or len(item.test_name) > 1000:
            raise AssayError(f"{source}: result {n} has an empty or over-long test name.")
        bad = _nul_field(item)
        if bad:
            raise AssayError(
                f"{source}: result {n} ({item.test_name[:80]!r}) has a NUL character in {bad}."
            )
        # The same identity twice in one import: the later result wins, as a re-import.
        by_run.setdefault(scope[0], {})[(scope[1], scope[2], scope[3], item.test_name)] = item

    with transaction.atomic():
        # Aliases (daily_latest) resolve before anything is written, so a bad one refuses all.
        targets = {name: resolve_run_name(name) for name in by_run}
        project_ids = _project_ids({key[0] for items in by_run.values() for key in items})
        summaries = []
        for run_name, items in by_run.items():
            run, created = get_or_create_run(targets[run_name], lock=True)
            summaries.append(_write_run(run, created, items, project_ids, now))
        refresh_flaky_on_commit(s.run for s in summaries)  # recurring runs: queued, debounced
    return summaries


def _project_ids(names: set[str]) -> dict[str, int]:
    existing = dict(Project.objects.filter(name__in=names).values_list("name", "id"))
    missing = names - existing.keys()
    if missing:
        Project.objects.bulk_create(
            [Project(name=name) for name in sorted(missing)], ignore_conflicts=True
        )
        existing = dict(Project.objects.filter(name__in=names).values_list("name", "id"))
    return existing


def _write_run(
    run: TestRun,
    created: bool,
    items: dict[tuple[str, str, str, str], ParsedResult],
    project_ids: dict[str, int],
    now,
) -> RunSummary:
    summary = RunSummary(run=run, created=created, imported=len(items))
    previous: dict[tuple[int, str, str, str], str] = {}
    if not created:
        previous = {
            (p, h, c, t): s
            for p, h, c, t, s in TestResult.objects.filter(run=run).values_list(
                "project_id", "host", "context", "test_name", "status"
            )
        }
    rows = []
    counts: dict[str, int] = {}
    for (project, host, context, name), item in items.items():
        project_id = project_ids[project]
        before = previous.get((project_id, host, context, name))
        if before == "M":
            summary.replaced_missing += 1
        elif before is not None:
            summary.reimported += 1
        counts[item.status] = counts.get(item.status, 0) + 1
        duration = item.duration
        if duration is None and item.start_time and item.end_time:
            duration = (item.end_time - item.start_time).total_seconds()
        rows.append(
            (
                run.pk,
                project_id,
                host,
                context,
                name,
                item.status,
                item.start_time,
                item.end_time,
                duration,
                item.location[:1000],
                item.test_runner[:100],
                *clip_log(item.log),  # log, log_size
                item.tda,
                item.tra,
                now,
            )  # fmt: skip
        )
    summary.new = summary.imported - summary.reimported - summary.replaced_missing
    # Only a run this transaction created can take plain inserts; any other may have gained
    # rows since `previous` was read.
    write_results(rows, upsert=not created)
    summary.counts = counts
    refresh_counts(run)
    return summary


def _merge(into: dict[str, RunSummary], summaries: Sequence[RunSummary]) -> None:
    for s in summaries:
        total = into.get(s.run.name)
        if total is None:
            into[s.run.name] = s
            continue
        total.imported += s.imported
        total.new += s.new
        total.reimported += s.reimported
        total.replaced_missing += s.replaced_missing
        total.created = total.created or s.created
        total.run = s.run
        for status, n in s.counts.items():
            total.counts[status] = total.counts.get(status, 0) + n


def import_one(data: bytes, filename: str, defaults: ImportDefaults) -> FileSummary:
    """Parse and write one file; raises ImportFailed (nothing written) when it is refused.
    The caller provides the transaction."""
    try:
        parsed: ParsedFile = parse_file(data, filename)
    except ParseError as exc:
        raise ImportFailed(filename, exc.line, exc.message) from None
    try:
        with transaction.atomic():
            runs = record_run(parsed.results, defaults, source=filename)
    except ImportFailed:
        raise
    except AssayError as exc:
        raise ImportFailed(filename, None, exc.detail.removeprefix(f"{filename}: ")) from None
    return FileSummary(
        filename, parsed.format, parsed.flavour, len(parsed.results), runs, parsed.warnings
    )


def import_files(
    files: Iterable[tuple[str, bytes]],
    defaults: ImportDefaults = ImportDefaults(),  # noqa: B008
) -> tuple[list[FileSummary], list[RunSummary]]:
    """All-or-nothing import of several files (the API): one bad file refuses the request."""
    file_summaries: list[FileSummary] = []
    per_run: dict[str, RunSummary] = {}
    with transaction.atomic():
        for filename, data in files:
            summary = import_one(data, filename, defaults)
            file_summaries.append(summary)
            _merge(per_run, summary.runs)
    for s in per_run.values():
        s.run.refresh_from_db()
    return file_summaries, list(per_run.values())


def import_paths(
    paths: Sequence[Path],
    defaults: ImportDefaults,
    *,
    on_file: Callable[[Path, FileSummary | None, ImportFailed | None], None] | None = None,
) -> tuple[int, int]:
    """The CLI's import (Pandokia's `pdk import *`): each file is its own transaction, so a bad
    file is reported and skipped while the others land. Returns (files imported, files refused)."""
    ok = failed = 0
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            err = ImportFailed(str(path), None, f"cannot read: {exc.strerror}")
            failed += 1
            if on_file:
                on_file(path, None, err)
            continue
        try:
            with transaction.atomic():
                summary = import_one(data, str(path), defaults)
        except DatabaseError as exc:  # e.g. a value the database cannot store
            error = ImportFailed(str(path), None, f"the database refused it: {exc}".strip())
            failed += 1
            if on_file:
                on_file(path, None, error)
            continue
        except ImportFailed as exc:
            failed += 1
            if on_file:
                on_file(path, None, exc)
            continue
        ok += 1
        if on_file:
            on_file(path, summary, None)
    return ok, failed
