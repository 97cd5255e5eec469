"""Types and helpers shared by the result-file parsers.

This module (like the whole ``results.importers`` package) is plain Python: it must not
import Django, so that the parsers can be used and tested on their own.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

# One letter: Pandokia's P(ass) F(ail) E(rror) D(isabled) M(issing), or a user-defined
# lower-case letter.
STATUS_LETTERS = frozenset("PFEDM") | frozenset("abcdefghijklmnopqrstuvwxyz")
STATUS_HELP = "expected one of P, F, E, D, M or a lower-case letter a-z"

# How "bad" each status is when several results for the same test must be merged into one
# (JUnit files may repeat a testcase, e.g. pytest reports a teardown error separately).
STATUS_RANK = {"F": 5, "E": 4, "M": 3, "P": 2, "D": 1}

# Date-times are stored in UTC and shown in the server's time zone: a day's margin inside
# Python's (and so Django's) years 1-9999 keeps both conversions from overflowing.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
TIME_RANGE_HELP = "date-times must fall between 0001-01-02 and 9999-12-30 (UTC)"
# Durations beyond this (about 31,700 years) are not measurements, and summing a million of
# them must stay a finite number in any database.
MAX_SECONDS = 1e12
# Real files nest a few suites (Jest's describe blocks, CTest's labels); hundreds of levels
# are an attack or a generator's bug (JUnit XML; here for parse_file's default).
MAX_DEPTH = 200


@dataclass(slots=True)
class ParsedResult:
    """One test result, as read from a file; nothing here has touched the database."""

    test_name: str  # dotted path, e.g. "pkg.module.TestClass.test_x[param]"
    status: str  # one letter: P F E D M or a user-defined lower-case letter
    test_run: str | None = None  # from the file; None when the file doesn't say
    project: str | None = None
    host: str | None = None
    context: str | None = None
    start_time: datetime | None = None  # timezone-aware (naive values are taken as UTC)
    end_time: datetime | None = None
    duration: float | None = None  # seconds; derived from start/end when absent
    location: str = ""
    test_runner: str = ""
    log: str = ""
    tda: dict[str, str] = field(default_factory=dict)  # test definition attributes
    tra: dict[str, str] = field(default_factory=dict)  # test result attributes
    retries: int = 0  # failed attempts before this, the final one (JUnit reruns)
    message: str = ""  # why it failed: one clean, clipped text (messages.failure_message)


class ParseError(ValueError):
    """The file cannot be imported. ``str(e)`` is ``"name:line: message"``."""

    def __init__(self, filename: str, line: int | None, message: str):
        self.filename = filename
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.filename}: {self.message}"
        return f"{self.filename}:{self.line}: {self.message}"

    def __reduce__(self):  # keep the exception picklable (task queues pickle exceptions)
        return (type(self), (self.filename, self.line, self.message))


@dataclass(frozen=True)
class BuildInfo:
    """What a file (or the upload's fields) says about the build its results belong to:
    the run's series, branch, commit, build URL, start and end, and attributes (environment
    and the like). None: not given (the next source, or the default, applies)."""

    series: str | None = None
    branch: str | None = None
    commit: str | None = None
    build_url: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    attributes: dict[str, str] = field(default_factory=dict)

    def over(self, below: BuildInfo) -> BuildInfo:
        """These values where given, else `below`'s; attributes merged key by key, these
        winning (explicit API/CLI values over a file's)."""
        return BuildInfo(
            *(mine if mine is not None else theirs for mine, theirs in zip(
                self.fields(), below.fields(), strict=True)),
            attributes={**below.attributes, **self.attributes},
        )  # fmt: skip

    def fields(self) -> tuple:
        return (
            self.series, self.branch, self.commit, self.build_url, self.started_at,
            self.ended_at,
        )  # fmt: skip

    def __bool__(self) -> bool:
        return any(v is not None for v in self.fields()) or bool(self.attributes)


BUILD_FIELDS = ("series", "branch", "commit", "build_url", "started_at", "ended_at")


@dataclass
class ParsedFile:
    """Everything read from one uploaded file."""

    format: str  # "pdk", "junit" or "json"
    flavour: str  # which tool wrote a JUnit file; "" for pdk and json
    results: list[ParsedResult]
    # Things that were accepted but are worth telling the uploader (ignored fields,
    # dropped duplicates, ...). Never needed to interpret ``results``.
    warnings: list[str] = field(default_factory=list)
    build: BuildInfo = field(default_factory=BuildInfo)
    # No text in it holds a NUL or a lone surrogate (what a database cannot store): set by
    # parse_file, whose parsers refuse both, so the import need not scan each field again.
    storable: bool = False


def is_valid_status(status: str) -> bool:
    return len(status) == 1 and status in STATUS_LETTERS


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware datetime; naive values are taken to be UTC."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        return value.replace(tzinfo=UTC)
    return value


_ISO_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)


ISO_DATETIME_PATTERN = _ISO_RE.pattern  # what parse_iso_datetime reads (API schemas say so)


class OutOfRange(ValueError):
    """A well-formed date-time or number outside what Assay can store."""


def check_time(value: datetime) -> datetime:
    """``value`` (aware) if it lies within EARLIEST..LATEST, else ``OutOfRange``."""
    # Comparing aware values does not convert them, so this cannot overflow itself.
    if not EARLIEST <= value <= LATEST:
        raise OutOfRange(f"out of range: {TIME_RANGE_HELP}")
    return value


def check_seconds(value: float) -> float:
    """A finite, non-negative number of seconds up to MAX_SECONDS, else ``ValueError``."""
    if not 0 <= value <= MAX_SECONDS:  # NaN fails too
        if value > MAX_SECONDS and math.isfinite(value):
            raise OutOfRange(f"out of range: at most {MAX_SECONDS:.0e} seconds")
        raise ValueError("not a non-negative finite number")
    return value


def parse_iso_datetime(text: str, *, check_range: bool = True) -> datetime:
    """Parse an ISO 8601 / RFC 3339 date-time; naive values are taken as UTC.

    Accepts ``2024-03-11T10:15:02``, ``2024-03-11 10:15:02.123456``, ``...Z``, ``...+01:00``
    and fractions of any length (they are cut to microseconds). Raises ``ValueError``
    (``OutOfRange`` outside EARLIEST..LATEST, unless ``check_range`` is false).
    """
    value = _parse_iso(text)
    return check_time(value) if check_range else value


def _parse_iso(text: str) -> datetime:
    text = text.strip()
    if not _ISO_RE.fullmatch(text):
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    try:
        return as_utc(datetime.fromisoformat(text))  # fast path, handles most values
    except ValueError:
        pass
    date_part, time_part = text[:10], text[11:].upper()
    zone = ""
    for i, char in enumerate(time_part):
        if char in "Zz+-":
            time_part, zone = time_part[:i], time_part[i:]
            break
    if "." in time_part or "," in time_part:
        whole, frac = re.split("[.,]", time_part, maxsplit=1)
        time_part = f"{whole}.{(frac + '000000')[:6]}"
    if zone in ("Z", "z"):
        zone = "+00:00"
    elif len(zone) == 5:  # +0100
        zone = f"{zone[:3]}:{zone[3:]}"
    elif len(zone) == 3:  # +01
        zone = f"{zone}:00"
    return as_utc(datetime.fromisoformat(f"{date_part}T{time_part}{zone}"))


# Seconds since 1970 safely inside EARLIEST..LATEST (a day in from each): no range check needed.
_SAFE_SECONDS = (EARLIEST.timestamp() + 86400, LATEST.timestamp() - 86400)


def epoch_to_datetime(seconds: float) -> datetime:
    """Seconds since 1970 (UTC) to an aware datetime. Raises ``ValueError``."""
    if _SAFE_SECONDS[0] < seconds < _SAFE_SECONDS[1]:  # nearly every time (False for NaN)
        return datetime.fromtimestamp(seconds, tz=UTC)
    if not math.isfinite(seconds):
        raise ValueError("not a finite number")
    try:
        return check_time(datetime.fromtimestamp(seconds, tz=UTC))
    except (OverflowError, OSError, ValueError) as exc:
        raise OutOfRange(f"out of range: {TIME_RANGE_HELP}") from exc


def parse_seconds(text: str) -> float:
    """A non-negative, finite number of seconds. Raises ``ValueError``.

    Tolerates thousands separators (old Maven Surefire writes ``1,234.567``).
    """
    text = text.strip()
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?", text):
        text = text.replace(",", "")
    return check_seconds(float(text))


def fill_duration(result: ParsedResult) -> None:
    """Derive ``duration`` from start and end time when the file gave none.

    An end before the start (clock changes) gives no duration rather than a negative one.
    """
    if result.duration is None and result.start_time and result.end_time:
        seconds = (result.end_time - result.start_time).total_seconds()
        if seconds >= 0:
            result.duration = seconds


def identity(result: ParsedResult) -> tuple:
    """What makes a result unique within one import (Pandokia's identity)."""
    return (result.test_run, result.project, result.host, result.context, result.test_name)


def line_of_offset(data: bytes, offset: int) -> int:
    """1-based line number of the byte at ``offset``."""
    return data.count(b"\n", 0, offset) + 1
