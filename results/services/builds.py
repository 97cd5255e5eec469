"""Builds: a run's series, branch, commit, build URL, start and end, and attributes.

Given on import by the API's fields and the CLI's options (explicit, they win), by the file
(the JSON format's top level, JUnit suite properties), or derived: a recurring name
`<prefix>_YYYY-MM-DD` is a build of the series `prefix` started on that date; any other run
starts at its import's earliest result start_time, else when it is created. Previous/next,
history, the default comparison and flaky tests follow a series ordered by (started_at, id).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from core.exceptions import AssayError, Conflict
from results.importers import BuildInfo
from results.importers.base import parse_iso_datetime
from results.models import ATTRIBUTE_KEY_RE, TestRun
from results.services.runs import RUN_NAME_RE

# A series is a name in URLs (/series/<name>/, ?series=) like a run's: the same characters.
SERIES_RE = RUN_NAME_RE
TEXT_LIMIT = 200  # branch, commit (the model's columns)
URL_LIMIT = 1000
MAX_ATTRIBUTES = 50
ATTRIBUTE_VALUE_LIMIT = 500
_url = URLValidator(schemes=["http", "https"])

Times = tuple[datetime | None, datetime | None]  # an import's earliest start, latest end


def _plain(value: str, what: str, limit: int) -> str:
    if len(value) > limit:
        raise AssayError(
            f"{what} {value[:40]!r}... is longer than {limit} characters.", code="bad_build"
        )
    if any(ch < " " or ch == "\x7f" for ch in value):
        raise AssayError(
            f"{what} {value[:40]!r} contains a control character (a line break?).",
            code="bad_build",
        )
    return value


def parse_time(raw: str, what: str) -> datetime:
    """An ISO 8601 date-time given as text (an API field, a CLI option); naive is UTC."""
    try:
        return _in_range(parse_iso_datetime(raw), what)
    except ValueError:
        raise AssayError(
            f"{what} {raw[:40]!r} is not an ISO 8601 date-time (e.g. 2026-11-02T09:00:00Z).",
            code="bad_time",
        ) from None


def _in_range(value: datetime, what: str) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise AssayError(
            f"{what} {value.isoformat()} is outside the calendar once taken to UTC.",
            code="bad_time",
        ) from None


def parse_attribute_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` texts (repeated `attr` fields, `--attr` options) as a dict."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise AssayError(
                f"attribute {pair[:40]!r}: write KEY=VALUE, e.g. env=prod.", code="bad_attribute"
            )
        out[key.strip()] = value.strip()
    return out


def build_from_fields(
    *,
    series: str = "",
    branch: str = "",
    commit: str = "",
    build_url: str = "",
    started_at: str = "",
    ended_at: str = "",
    attributes: dict[str, str] | None = None,
) -> BuildInfo:
    """The API's fields or the CLI's options as a validated BuildInfo; empty is not given."""

    def given(value: str) -> str | None:
        return value.strip() or None

    start, end = given(started_at), given(ended_at)
    return validate_build(
        BuildInfo(
            series=given(series),
            branch=given(branch),
            commit=given(commit),
            build_url=given(build_url),
            started_at=parse_time(start, "started_at") if start else None,
            ended_at=parse_time(end, "ended_at") if end else None,
            attributes=attributes or {},
        )
    )


def validate_build(build: BuildInfo) -> BuildInfo:
    """Every value checked (AssayError with a code: bad_series, bad_build, bad_build_url,
    bad_time, bad_attribute); returns it with times in UTC."""
    if not build:
        return build
    if build.series is not None and not SERIES_RE.match(build.series):
        raise AssayError(
            f"series {build.series[:80]!r}: use letters, digits and _ . @ + : = , - (at most "
            "200 characters, starting with a letter or digit).",
            code="bad_series",
        )
    for what in ("branch", "commit"):
        if getattr(build, what) is not None:
            _plain(getattr(build, what), what, TEXT_LIMIT)
    if build.build_url is not None:
        try:
            if len(build.build_url) > URL_LIMIT:
                raise ValidationError("too long")
            _url(build.build_url)
        except ValidationError:
            raise AssayError(
                f"build URL {build.build_url[:80]!r} is not an http(s) URL of at most "
                f"{URL_LIMIT} characters.",
                code="bad_build_url",
            ) from None
    start = _in_range(build.started_at, "started_at") if build.started_at else None
    end = _in_range(build.ended_at, "ended_at") if build.ended_at else None
    if start and end and end < start:
        raise AssayError(
            f"ended_at {end.isoformat()} is before started_at {start.isoformat()}.",
            code="bad_time",
        )
    _check_attributes(build.attributes)
    return BuildInfo(
        build.series, build.branch, build.commit, build.build_url, start, end, build.attributes
    )


def _check_attributes(attributes: dict) -> None:
    if len(attributes) > MAX_ATTRIBUTES:
        raise AssayError(
            f"{len(attributes)} attributes: a run has at most {MAX_ATTRIBUTES}.",
            code="bad_attribute",
        )
    for key, value in attributes.items():
        if not isinstance(key, str) or not ATTRIBUTE_KEY_RE.match(key):
            raise AssayError(
                f"attribute key {str(key)[:40]!r}: a letter or _, then letters, digits and "
                "_ . - (at most 100 characters).",
                code="bad_attribute",
            )
        if not isinstance(value, str):
            raise AssayError(
                f"attribute {key}: the value must be a string, not {json.dumps(value)[:40]}.",
                code="bad_attribute",
            )
        if len(value) > ATTRIBUTE_VALUE_LIMIT or any(ch < " " or ch == "\x7f" for ch in value):
            raise AssayError(
                f"attribute {key}: the value must be one line of at most "
                f"{ATTRIBUTE_VALUE_LIMIT} characters.",
                code="bad_attribute",
            )


def apply_build(run: TestRun, created: bool, build: BuildInfo, times: Times) -> None:
    """Write an import's build to its run (inside the import's transaction, the run locked).

    Given values are written; a run created by this import starts at the explicit start, the
    recurring name's date (set on creation), else its results' earliest start_time; its end is
    the explicit end, else the latest result end_time. A run keeps its series: an import that
    names another is refused (409 series_mismatch), nothing written."""
    changes: dict = {}
    if build.series is not None and build.series != run.series:
        if run.series and not created:
            raise Conflict(
                f"{run.name} is a build of the series {run.series!r}; this import names the "
                f"series {build.series!r}. A run keeps its series: import into another run, "
                "or leave the series out. Nothing was imported.",
                code="series_mismatch",
            )
        changes["series"] = build.series
    for name in ("branch", "commit", "build_url"):
        value = getattr(build, name)
        if value is not None and value != getattr(run, name):
            changes[name] = value
    earliest, latest = times
    if build.started_at is not None:
        changes["started_at"] = build.started_at
    elif created and earliest is not None and not run.run_date:
        changes["started_at"] = earliest
    end = build.ended_at or latest
    if end is not None and (build.ended_at is not None or not run.ended_at or end > run.ended_at):
        changes["ended_at"] = end
    if build.attributes:
        merged = {**run.attributes, **build.attributes}
        if merged != run.attributes:
            _check_attributes(merged)
            changes["attributes"] = merged
    if changes:
        TestRun.objects.filter(pk=run.pk).update(**changes)
        for name, value in changes.items():
            setattr(run, name, value)
