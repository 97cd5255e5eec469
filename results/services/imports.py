"""Importing results: parse and validate outside any transaction, then write in a short one.

An import is all-or-nothing (one transaction per API request, per file for the CLI), and no
other writer waits while it parses (SQLite has one write lock). Importing a result whose
identity (run, project, host, context, test_name) is already there replaces it: a re-import,
or the arrival of a test that check_expected had entered as missing (M). A valuable run's
results are changed only by whoever holds rewrite_history; every import is recorded
(RunImport).
"""

from __future__ import annotations

import heapq
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.db import retry_on_busy
from core.exceptions import AssayError, Conflict
from core.roles import has_permission
from results.importers import (
    BuildInfo,
    ParsedFile,
    ParsedResult,
    ParseError,
    gc_paused,
    parse_file,
)
from results.importers.messages import FAILING_STATUSES, failure_message, fingerprint
from results.models import STATUS_LETTERS, Project, RunImport, TestResult, TestRun
from results.services.builds import Times, apply_build, validate_build
from results.services.bulk import COLUMNS, formats, write_results
from results.services.flaky import refresh_flaky_on_commit
from results.services.logs import clip_log
from results.services.runs import (
    SLOWEST_KEPT,
    get_or_create_run,
    refresh_counts,
    refuse_ahead,
    resolve_run_name,
    store_counts,
    validate_run_name,
)
from results.services.search import queue_search_index_on_commit

log = logging.getLogger(__name__)

DEFAULT_PROJECT = "default"
DEFAULT_CONTEXT = "default"


@dataclass(frozen=True)
class ImportDefaults:
    """Values used where a file does not say (the API's form fields, the CLI's options)."""

    run: str = ""
    project: str = ""
    host: str = ""
    context: str = ""
    # The build (series, branch, ...): explicit values, winning over the file's.
    build: BuildInfo = field(default_factory=BuildInfo)


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

    def __init__(self, filename: str, line: int | None, message: str, code: str | None = None):
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {message}", code=code)
        self.filename, self.line, self.message = filename, line, message


def _text(value: str | None, default: str, what: str, limit: int) -> str:
    value = (value or "").strip() or default
    if len(value) > limit:
        raise AssayError(f"{what} {value[:40]!r}... is longer than {limit} characters.")
    if any(ch < " " or ch == "\x7f" for ch in value):
        raise AssayError(f"{what} {value[:40]!r} contains a control character (a line break?).")
    if _unstorable(value):
        raise AssayError(f"{what} {value[:40]!r} contains half of a UTF-16 surrogate pair.")
    return value


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _unstorable(value: str) -> bool:
    """A NUL (PostgreSQL's text cannot store one) or a lone surrogate (not encodable as
    UTF-8: SQLite and PostgreSQL both refuse it, mid-transaction)."""
    return "\x00" in value or not value.isascii() and _SURROGATE_RE.search(value) is not None


def _nul_field(item: ParsedResult) -> str | None:
    """The first field holding a NUL character or a lone surrogate (see _unstorable). This runs
    for every result of every import: plain ASCII text without a NUL, nearly every result,
    is told apart in a few C-level scans before any field is looked at one by one."""
    name, log, location, runner = item.test_name, item.log, item.location, item.test_runner
    plain = (
        name.isascii() and log.isascii() and location.isascii() and runner.isascii()
        and "\x00" not in name and "\x00" not in log
        and "\x00" not in location and "\x00" not in runner
    )  # fmt: skip
    if not plain:
        for field_name in ("test_name", "log", "location", "test_runner"):
            if _unstorable(getattr(item, field_name)):
                return field_name
    for attributes, kind in ((item.tda, "tda"), (item.tra, "tra")):
        if not attributes:
            continue
        for key, value in attributes.items():
            if _unstorable(key) or (isinstance(value, str) and _unstorable(value)):
                return f"{kind}[{key[:40]!r}]"
    return None


Key = tuple[str, str, str, str]  # project, host, context, test name


@dataclass
class Prepared:
    """Results validated and grouped by run name (aliases not yet resolved), ready to be
    written: built outside any transaction, so the write that follows is short."""

    source: str  # a file name, or the producer: named in errors
    by_run: dict[str, dict[Key, ParsedResult]]
    build: BuildInfo = field(default_factory=BuildInfo)  # for every run of the batch
    times: dict[str, Times] = field(default_factory=dict)  # per run: earliest start, latest end


def prepare(
    results: Iterable[ParsedResult],
    defaults: ImportDefaults = ImportDefaults(),  # noqa: B008 (frozen dataclass)
    *,
    source: str = "results",
    build: BuildInfo = BuildInfo(),  # noqa: B008 (frozen dataclass)
    storable: bool = False,
) -> Prepared:
    """Validate every result (run names, statuses, NULs) and the build (the file's `build`
    under the defaults') without touching the database. `storable`: a parser vouches that no
    text holds a NUL or a lone surrogate (ParsedFile.storable)."""
    build = validate_build(defaults.build.over(build))
    by_run: dict[str, dict[Key, ParsedResult]] = {}
    times: dict[str, Times] = {}
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
                refuse_ahead(validate_run_name(run_name)),
                _text(item.project, defaults.project or DEFAULT_PROJECT, "project", 200),
                _text(item.host, defaults.host, "host", 200),
                _text(item.context, defaults.context or DEFAULT_CONTEXT, "context", 200),
            )
        if item.status not in statuses:
            raise AssayError(f"{source}: result {n} has an invalid status {item.status!r}.")
        if not item.test_name or len(item.test_name) > 1000:
            raise AssayError(f"{source}: result {n} has an empty or over-long test name.")
        bad = None if storable else _nul_field(item)
        if bad:
            raise AssayError(
                f"{source}: result {n} ({item.test_name[:80]!r}) has a NUL character or a lone "
                f"UTF-16 surrogate in {bad}: not text a database can store."
            )
        # The same identity twice in one import: the later result wins, as a re-import.
        by_run.setdefault(scope[0], {})[(scope[1], scope[2], scope[3], item.test_name)] = item
        if item.start_time is not None or item.end_time is not None:
            _widen(times, scope[0], item)
    return Prepared(source, by_run, build, times)


def _widen(times: dict[str, Times], run: str, item: ParsedResult) -> None:
    """The run's earliest result start and latest end (a default start and end of a build)."""
    first, last = times.get(run, (None, None))
    start, end = item.start_time, item.end_time or item.start_time
    if start is not None and (first is None or start < first):
        first = start
    if end is not None and (last is None or end > last):
        last = end
    times[run] = (first, last)


def write_prepared(
    batches: Sequence[Prepared], *, who: str, user: Any = None
) -> list[list[RunSummary]]:
    """Write validated batches in one short transaction (all or nothing), in order: a later
    batch's result replaces an earlier one's of the same identity. Records each run's import
    (RunImport). `user` is the API's caller: changing results of a valuable run needs
    rewrite_history; None is the server itself (the CLI, a producer), which may.
    Returns the summaries per batch."""
    now = timezone.now()
    may_rewrite = user is None or has_permission(user, "rewrite_history")
    per_batch: list[list[RunSummary]] = []
    # A row per result is built here: the collector would scan them all, for nothing.
    with gc_paused(), transaction.atomic():
        # Aliases (daily_latest) resolve before anything is written, so a bad one refuses all.
        targets = [_resolve(batch) for batch in batches]
        names = {key[0] for batch in batches for items in batch.by_run.values() for key in items}
        project_ids = _project_ids(names)
        runs: dict[str, tuple[TestRun, bool]] = {}
        for batch, target in zip(batches, targets, strict=True):
            summaries = []
            for run_name, items in batch.by_run.items():
                real = target[run_name]
                if real not in runs:
                    runs[real] = get_or_create_run(real, lock=True)
                run, created = runs[real]
                apply_build(run, created, batch.build, batch.times.get(run_name, (None, None)))
                summary = _write_run(run, created, items, project_ids, now, may_rewrite)
                runs[real] = (run, False)  # the next batch's rows may meet these
                summaries.append(summary)
            per_batch.append(summaries)
        merged: dict[str, RunSummary] = {}
        for summaries in per_batch:
            _merge(merged, [replace(s, counts=dict(s.counts)) for s in summaries])
        sources = ", ".join(dict.fromkeys(batch.source for batch in batches))
        RunImport.objects.bulk_create(
            RunImport(
                run=s.run,
                at=now,
                who=who[:150],
                source=_clip(sources, 1000),
                results=s.imported,
                new=s.new,
                reimported=s.reimported,
                replaced_missing=s.replaced_missing,
            )  # fmt: skip
            for s in merged.values()
        )
        refresh_flaky_on_commit(s.run for s in merged.values())  # recurring runs: debounced
        if merged:
            queue_search_index_on_commit()  # the new tests' search entries, debounced
    return per_batch


def _resolve(batch: Prepared) -> dict[str, str]:
    try:
        return {name: resolve_run_name(name) for name in batch.by_run}
    except AssayError as exc:
        raise ImportFailed(batch.source, None, exc.detail) from None


def _rewrite_refused(summary: RunSummary) -> Conflict:
    return Conflict(
        f"{summary.run.name} is marked valuable, and this import would change "
        f"{summary.reimported + summary.replaced_missing} of its results "
        f"({summary.reimported} re-imported, {summary.replaced_missing} missing replaced). "
        "Its history is kept as it is: new results may be added, changes need the permission "
        "'rewrite_history' (staff). Nothing was imported.",
        code="valuable_run",
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def record_run(
    results: Iterable[ParsedResult],
    defaults: ImportDefaults = ImportDefaults(),  # noqa: B008 (frozen dataclass)
    *,
    source: str = "results",
    who: str = "",
    user: Any = None,
) -> list[RunSummary]:
    """Write results into their runs. The one write path every producer uses.

    Each result's run/project/host/context comes from the result, else from `defaults`.
    Validates first, outside the transaction; `who` (default: `source`) is recorded in the
    runs' import history. Inside a caller's transaction the write joins it."""
    prepared = prepare(results, defaults, source=source)
    [summaries] = write_prepared([prepared], who=who or source, user=user)
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


# Positions in a row (results.services.bulk.COLUMNS).
_NAME, _DURATION = COLUMNS.index("test_name"), COLUMNS.index("duration")
_INDEX_ORDER = itemgetter(
    *(COLUMNS.index(c) for c in ("test_name", "project_id", "host", "context"))
)

RETRIES_MAX = 32767  # a PositiveSmallIntegerField holds this much on every database


def _write_run(
    run: TestRun,
    created: bool,
    items: dict[Key, ParsedResult],
    project_ids: dict[str, int],
    now,
    may_rewrite: bool = True,
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
    fingerprints: dict[str, str] = {}  # one failure repeats: normalize each message once
    log_limit = settings.ASSAY_MAX_LOG_BYTES  # read once: a setting costs a lookup per read
    time, to_json = formats()  # the rows are made as the write takes them, in one pass
    imported_at = time(now)
    run_id = run.pk
    for (project, host, context, name), item in items.items():
        project_id = project_ids[project]
        if previous:
            before = previous.get((project_id, host, context, name))
            if before == "M":
                summary.replaced_missing += 1
            elif before is not None:
                summary.reimported += 1
        counts[item.status] = counts.get(item.status, 0) + 1
        duration = item.duration
        if duration is None and item.start_time and item.end_time:
            duration = (item.end_time - item.start_time).total_seconds()
        message = signature = ""
        if item.message or (item.log and item.status in FAILING_STATUSES):
            # Parsers give it clean; other producers' results (record_run) are made so here.
            message = failure_message(item.status, item.message, item.log)
            if message and item.status in FAILING_STATUSES:
                signature = fingerprints.get(message)
                if signature is None:
                    signature = fingerprints[message] = fingerprint(message)
        rows.append(
            (
                run_id,
                project_id,
                host,
                context,
                name,
                item.status,
                time(item.start_time),
                time(item.end_time),
                duration,
                item.location[:1000],
                item.test_runner[:100],
                *clip_log(item.log, log_limit),  # log, log_size
                to_json(item.tda),
                to_json(item.tra),
                imported_at,
                item.retries if item.retries <= RETRIES_MAX else RETRIES_MAX,
                message,
                signature,
            )  # fmt: skip
        )
    summary.new = summary.imported - summary.reimported - summary.replaced_missing
    if run.valuable and not may_rewrite and summary.new < summary.imported:
        raise _rewrite_refused(summary)  # before writing: the run's row is locked meanwhile
    # In the identity index's order (name, project, host, context; the run is one): each
    # insert lands next to the last one, on a page already in memory.
    rows.sort(key=_INDEX_ORDER)
    # Only a run this transaction created can take plain inserts; any other may have gained
    # rows since `previous` was read.
    write_results(rows, upsert=not created, formatted=True)
    summary.counts = counts
    if created:  # its rows are these: its counts and durations need no query
        store_counts(run, counts, *_durations(rows))
    else:
        refresh_counts(run)
    return summary


def _durations(rows: Sequence[tuple]) -> tuple[float | None, list[list]]:
    """What results.services.runs.run_durations reads from the database, from the rows of a
    run about to be written: the sum of the durations and the slowest results."""
    d, name = _DURATION, _NAME
    timed = [row for row in rows if row[d] is not None]
    if not timed:
        return None, []
    # run_durations's order: duration down, then the identity (name, project, host, context)
    slowest = heapq.nsmallest(SLOWEST_KEPT, timed, key=lambda row: (-row[d], _INDEX_ORDER(row)))
    # As run_durations's rows: project_id, host, context, test_name, duration. The sum may
    # differ from the database's SUM in its last digits (another order of additions).
    return math.fsum(row[d] for row in timed), [[*row[1 : name + 1], row[d]] for row in slowest]


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


def parse_one(
    data: bytes | BinaryIO, filename: str, defaults: ImportDefaults
) -> tuple[ParsedFile, Prepared]:
    """Parse and validate one file (its bytes, or a binary file: read in chunks, never held
    whole), outside any transaction; ImportFailed when it is refused."""
    try:
        parsed: ParsedFile = parse_file(data, filename, max_depth=settings.ASSAY_MAX_XML_DEPTH)
    except ParseError as exc:
        raise ImportFailed(filename, exc.line, exc.message) from None
    except Exception as exc:  # a parser's bug must refuse the file, not fail the request
        log.debug("parsing %s failed", filename, exc_info=True)  # LOG_LEVEL=DEBUG: traceback
        raise ImportFailed(
            filename, None, f"the importer failed on it ({_one_line(exc)}); nothing was "
            "imported (please report it)"
        ) from None  # fmt: skip
    try:
        with gc_paused():
            prepared = prepare(
                parsed.results, defaults, source=filename, build=parsed.build,
                storable=parsed.storable,
            )  # fmt: skip
    except AssayError as exc:  # its own code when it has one (run_date_ahead, bad_run_name)
        code = exc.code if exc.code != AssayError.code else None
        raise ImportFailed(filename, None, exc.detail.removeprefix(f"{filename}: "), code) from None
    return parsed, prepared


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return _clip(text, limit)


def _file_summary(filename: str, parsed: ParsedFile, runs: list[RunSummary]) -> FileSummary:
    return FileSummary(
        filename, parsed.format, parsed.flavour, len(parsed.results), runs, parsed.warnings
    )


def import_files(
    files: Iterable[tuple[str, bytes | BinaryIO]],
    defaults: ImportDefaults = ImportDefaults(),  # noqa: B008
    *,
    who: str = "",
    user: Any = None,
) -> tuple[list[FileSummary], list[RunSummary]]:
    """All-or-nothing import of several files (the API): one bad file refuses the request.
    Every file is parsed and validated first, then everything is written in one short
    transaction: other writers never wait for a parse. `user` as for write_prepared."""
    # The collector stays off until what was parsed is freed (`_import_files` has returned):
    # turned on while the results were alive, it scanned every one of them at once, a tenth
    # of a large import.
    with gc_paused():
        return _import_files(files, defaults, who=who, user=user)


def _import_files(
    files: Iterable[tuple[str, bytes | BinaryIO]], defaults: ImportDefaults, *, who: str, user: Any
) -> tuple[list[FileSummary], list[RunSummary]]:
    parsed_files = [(filename, *parse_one(data, filename, defaults)) for filename, data in files]
    # The write is one transaction: a busy database rolled it back whole, so it runs again.
    per_file = retry_on_busy(
        lambda: write_prepared([p for _, _, p in parsed_files], who=who or "api", user=user)
    )
    file_summaries = []
    per_run: dict[str, RunSummary] = {}
    for (filename, parsed, _), runs in zip(parsed_files, per_file, strict=True):
        file_summaries.append(_file_summary(filename, parsed, runs))
        _merge(per_run, runs)
    for s in per_run.values():
        s.run.refresh_from_db()
    return file_summaries, list(per_run.values())


OnFile = Callable[[Path, FileSummary | None, ImportFailed | None], None]


def import_paths(
    paths: Sequence[Path], defaults: ImportDefaults, *, on_file: OnFile | None = None
) -> tuple[int, int]:
    """The CLI's import (Pandokia's `pdk import *`): each file is parsed on its own, then
    written in its own short transaction, so a bad file is reported and skipped while the
    others land, whatever it raised. Returns (files imported, files refused)."""
    ok = failed = 0
    for path in paths:
        try:
            with gc_paused():  # on again once the file's results are freed (import_files)
                summary = _import_path(path, defaults)
        except ImportFailed as exc:
            error = exc
        except AssayError as exc:
            error = ImportFailed(str(path), None, exc.detail)
        except Exception as exc:  # a bug must not stop the other files
            log.debug("importing %s failed", path, exc_info=True)
            error = ImportFailed(str(path), None, _one_line(exc))
        else:
            ok += 1
            if on_file:
                on_file(path, summary, None)
            continue
        failed += 1
        if on_file:
            on_file(path, None, error)
    return ok, failed


def _import_path(path: Path, defaults: ImportDefaults) -> FileSummary:
    try:
        with path.open("rb") as stream:  # parsed as it is read: never held whole
            parsed, prepared = parse_one(stream, str(path), defaults)
    except OSError as exc:
        raise ImportFailed(str(path), None, f"cannot read: {exc.strerror}") from None
    try:
        [runs] = retry_on_busy(lambda: write_prepared([prepared], who="cli"))
    except DatabaseError as exc:  # e.g. a value the database cannot store
        raise ImportFailed(str(path), None, f"the database refused it: {exc}".strip()) from None
    return _file_summary(str(path), parsed, runs)
