"""Read paths of the gate shared by its pages: checks filtered, a check's table of migrations by
datasets, a dataset's log (which file may be read, and its lines marked for the viewer), the
datasets and projects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from migrations_gate.models import Check, Dataset, Outcome, Project

EXCLUSIVE = "AccessExclusiveLock"
LOG_LINES_SHOWN = 20_000  # the viewer's cap: the rest is in the raw download
LINE_CHARS_SHOWN = 4_000  # one line printed without end (a dump of data) stops here
# Every line the check writes starts with its time (services/checks.py: log).
_STAMP_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[+-]\d\d:\d\d|Z)?) (.*)$", re.S)
_END_RE = re.compile(r"^=== end (.+) (ok|FAILED) in ([\d.]+)s$")
# Inside a failed migration, the lines a reader looks for: a traceback's start and its error.
_ERROR_RE = re.compile(r"Traceback \(most recent call last\)|^[\w.]*(Error|Exception)\b.*:|^ERROR")


# --- checks -------------------------------------------------------------------------------------


def checks(project: str = "", outcome: str = "") -> QuerySet[Check]:
    """Newest first; ``project`` a project's name, ``outcome`` one of Outcome ('' for any)."""
    rows = Check.objects.select_related("project").order_by("-created_at", "-pk")
    if project:
        rows = rows.filter(project__name=project)
    if outcome:
        rows = rows.filter(outcome=outcome)
    return rows


def project_names() -> list[str]:
    return list(Project.objects.order_by("name").values_list("name", flat=True))


def check(pk: int) -> Check:
    """Raises Check.DoesNotExist."""
    return Check.objects.select_related("project", "recheck_of").get(pk=pk)


def rechecks(of: Check) -> QuerySet[Check]:
    return of.rechecks.order_by("created_at", "pk")


def dataset_names(of: Check) -> list[str]:
    """The datasets whose logs a check may show: those it recorded or, until it has recorded
    them (queued, running), its project's. Never a name from a request."""
    names = [r.get("dataset") for r in of.datasets or () if isinstance(r, dict)]
    if not names and not of.outcome:
        names = list(of.project.datasets.order_by("name").values_list("name", flat=True))
    return [n for n in names if isinstance(n, str) and n]


def dataset_logs(of: Check) -> list[str]:
    """The datasets of the check whose log is written."""
    return [name for name in dataset_names(of) if dataset_log(of, name) is not None]


def dataset_log(of: Check, name: str) -> Path | None:
    """The file of dataset ``name``'s log in check ``of``, or None: ``name`` must be one of the
    check's datasets (compared, never joined into a path first) and the file must exist."""
    if name not in dataset_names(of):
        return None
    folder = of.log_dir.resolve()
    path = (folder / f"{name}.log").resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


# --- the table of migrations by datasets ---------------------------------------------------------


@dataclass
class Cell:
    """One migration on one dataset."""

    dataset: str
    status: str  # ok, failed, timeout
    seconds: float
    measured: bool  # False on SQLite: no locks, rewrites or WAL watched
    exclusive: list[tuple[str, float, bool]]  # (relation, seconds, waited) for ACCESS EXCLUSIVE
    rewritten: list[str]
    wal_bytes: int | None
    size_change_bytes: int | None
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bad(self) -> bool:
        return self.status != "ok"


@dataclass
class Row:
    migration: str
    anchor: str  # its start line's id in a dataset's log
    cells: list[Cell | None]  # one per dataset; None: not run there


@dataclass
class Matrix:
    datasets: list[str]
    rows: list[Row]


def _migration_order(records: list[dict[str, Any]]) -> list[str]:
    """Every migration of every dataset in the order they ran: a dataset at an older schema
    runs more of them, and they go in before the first one the others share."""
    order: list[str] = []
    for record in records:
        at = -1
        for step in record.get("steps") or ():
            name = step.get("migration", "")
            if name in order:
                at = order.index(name)
            else:
                at += 1
                order.insert(at, name)
    return order


def _cell(dataset: str, step: dict[str, Any], findings: list[dict[str, Any]]) -> Cell:
    locks = step.get("locks")
    return Cell(
        dataset=dataset,
        status=step.get("status", ""),
        seconds=float(step.get("seconds") or 0.0),
        measured=locks is not None,
        exclusive=[
            (lock.get("relation", ""), float(lock.get("seconds") or 0.0), bool(lock.get("waited")))
            for lock in locks or ()
            if lock.get("mode") == EXCLUSIVE
        ],
        rewritten=list(step.get("rewritten") or ()),
        wal_bytes=step.get("wal_bytes"),
        size_change_bytes=step.get("size_change_bytes"),
        findings=[f for f in findings if f.get("migration") == step.get("migration")],
    )


def matrix(of: Check) -> Matrix:
    records = [r for r in of.datasets or () if isinstance(r, dict)]
    order = _migration_order(records)
    columns: list[dict[str, Cell]] = []
    for record in records:
        findings = list(record.get("findings") or ())
        name = record.get("dataset", "")
        steps = record.get("steps") or ()
        columns.append({s.get("migration", ""): _cell(name, s, findings) for s in steps})
    return Matrix(
        datasets=[r.get("dataset", "") for r in records],
        rows=[Row(name, anchor(name), [column.get(name) for column in columns]) for name in order],
    )


def dataset_findings(of: Check) -> list[dict[str, Any]]:
    """The check's records, each finding with the anchor of its migration in the log."""
    out = []
    for record in of.datasets or ():
        if not isinstance(record, dict):
            continue
        findings = [
            {**f, "anchor": anchor(f["migration"]) if f.get("migration") else ""}
            for f in record.get("findings") or ()
        ]
        out.append({**record, "findings": findings})
    return out


def outcome_counts() -> dict[str, int]:
    """Checks per outcome, in Outcome's order (the list's filter)."""
    counts = dict.fromkeys(Outcome.values, 0)
    rows = Check.objects.exclude(outcome="").order_by().values("outcome").annotate(n=Count("pk"))
    for row in rows:
        counts[row["outcome"]] = row["n"]
    return counts


# --- a dataset's log -----------------------------------------------------------------------------


@dataclass
class Line:
    number: int
    stamp: str
    text: str
    kind: str = ""  # start, end, end-failed, stopped, failure, warning, error (in a failure)
    migration: str = ""  # start and end lines
    in_failed: bool = False  # inside a migration that failed
    cut: bool = False  # longer than LINE_CHARS_SHOWN
    anchor: str = ""  # start lines: m-<migration>, the last start of each migration


@dataclass
class TocEntry:
    migration: str
    status: str  # ok, failed, timeout, running (no end line yet)
    seconds: float | None
    line: int | None  # the "=== start" line; None when it is past the lines shown
    errors: list[Line] = field(default_factory=list)  # its highlighted lines


@dataclass
class Log:
    lines: list[Line]
    toc: list[TocEntry]
    findings: list[Line]  # FAILURE and WARNING lines
    truncated: bool  # more lines than shown


def anchor(migration: str) -> str:
    """An id for a migration's start line: no spaces or quotes in it."""
    return "m-" + re.sub(r"[^\w.-]", "_", migration)


def _lines(path: Path, limit: int) -> Iterator[tuple[int, str]]:
    """The first ``limit`` lines and then one more, to tell a longer log apart; read as a
    stream, so the rest of a large file is never read."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            yield number, raw.decode("utf-8", "replace").rstrip("\r\n")
            if number > limit:
                return


def read_log(path: Path, steps: list[dict[str, Any]] | None = None,
             limit: int = LOG_LINES_SHOWN) -> Log:  # fmt: skip
    """The log's first ``limit`` lines, each marked for the viewer, and its table of contents:
    each migration started (a status from its end line), then those of ``steps`` (the check's
    record) past the lines shown."""
    lines: list[Line] = []
    toc: list[TocEntry] = []
    current: TocEntry | None = None
    block: list[Line] = []
    truncated = False
    for number, raw in _lines(path, limit):
        if number > limit:
            truncated = True
            break
        match = _STAMP_RE.match(raw)
        stamp, text = (match.group(1), match.group(2)) if match else ("", raw)
        line = Line(number, stamp, text[:LINE_CHARS_SHOWN], cut=len(text) > LINE_CHARS_SHOWN)
        lines.append(line)
        if text.startswith("=== start "):
            line.kind, line.migration = "start", text[len("=== start ") :]
            current = TocEntry(line.migration, "running", None, number)
            toc.append(current)
            block = [line]
            continue
        end = _END_RE.match(text)
        if end and current is not None:
            failed = end.group(2) == "FAILED"
            line.kind, line.migration = ("end-failed" if failed else "end"), end.group(1)
            current.status, current.seconds = ("failed" if failed else "ok"), float(end.group(3))
            block.append(line)
            if failed:
                _mark_failed(block, current)
            current, block = None, []
        elif text.startswith("=== stopped"):
            line.kind = "stopped"
            if current is not None:
                current.status = "timeout"
                block.append(line)
                _mark_failed(block, current)
                current, block = None, []
        elif text.startswith(("FAILURE:", "INTERNAL ERROR:", "WARNING:")):
            line.kind = "warning" if text.startswith("WARNING:") else "failure"
            # The verdict is written once the driver is done: a migration still open ended
            # without its end line (the driver died).
            _close_open(current, block, steps)
            current, block = None, []
        elif current is not None:
            block.append(line)
    if not truncated:
        _close_open(current, block, steps)
    # A migration started more than once (an attempt retried) is linked at its last start.
    last = {line.migration: line for line in lines if line.kind == "start"}
    for migration, line in last.items():
        line.anchor = anchor(migration)
    shown = {entry.migration for entry in toc}
    for step in steps or ():
        name = step.get("migration", "")
        if name and name not in shown:
            toc.append(TocEntry(name, step.get("status", ""), step.get("seconds"), None))
    findings = [line for line in lines if line.kind in ("failure", "warning")]
    return Log(lines=lines, toc=toc, findings=findings, truncated=truncated)


def _close_open(
    entry: TocEntry | None, block: list[Line], steps: list[dict[str, Any]] | None
) -> None:
    """A migration with a start line and no end: the check's record says how it went."""
    if entry is None:
        return
    step = next((s for s in steps or () if s.get("migration") == entry.migration), None)
    if step is not None and step.get("status") in ("failed", "timeout"):
        entry.status, entry.seconds = step["status"], step.get("seconds")
        _mark_failed(block, entry)


def _mark_failed(block: list[Line], entry: TocEntry) -> None:
    """A failed migration's lines: its traceback starts and error lines, and the last line it
    printed (the error the verdict quotes), highlighted."""
    printed = [line for line in block if not line.kind and line.text.strip()]
    last = printed[-1] if printed else None
    for line in block:
        line.in_failed = True
        if not line.kind and (line is last or _ERROR_RE.search(line.text.strip())):
            line.kind = "error"
    entry.errors = [line for line in block if line.kind in ("error", "end-failed", "stopped")]


def record_of(of: Check, name: str) -> dict[str, Any] | None:
    return next((r for r in of.datasets or () if isinstance(r, dict) and r.get("dataset") == name),
                None)  # fmt: skip


# --- datasets and projects -----------------------------------------------------------------------


@dataclass
class DatasetRow:
    dataset: Dataset
    rows: int  # in all its tables
    schema: list[str]  # per migration tool: where the dataset is, e.g. "django: shop 0004_x"


def _schema_lines(version: Any) -> list[str]:
    if not isinstance(version, dict):
        return [str(version)] if version else []
    out = []
    for tool, at in version.items():
        if isinstance(at, dict):
            at = ", ".join(f"{app} {name}" for app, name in at.items())
        elif isinstance(at, list):
            at = ", ".join(str(v) for v in at)
        out.append(f"{tool}: {at}")
    return out


def datasets() -> list[DatasetRow]:
    rows = Dataset.objects.select_related("server").prefetch_related(
        Prefetch("projects", queryset=Project.objects.order_by("name"))
    )
    return [
        DatasetRow(
            dataset=d,
            rows=sum(n for n in (d.tables or {}).values() if isinstance(n, int)),
            schema=_schema_lines(d.schema_version),
        )
        for d in rows
    ]


def projects() -> QuerySet[Project]:
    return Project.objects.prefetch_related(
        Prefetch("datasets", queryset=Dataset.objects.order_by("name"))
    )
