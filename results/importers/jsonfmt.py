"""Assay's own JSON format, ``"format": "assay-results/1"``.

The JSON Schema in ``schemas/assay-results-v1.schema.json`` is the single definition of
the format; this module loads it, validates with it and turns the document into
``ParsedResult`` objects. Validation uses ``fastjsonschema`` (the schema compiled to
Python), because the reference ``jsonschema`` validator needs about ten seconds for
100,000 results; the test suite checks that both agree on the schema.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema

from .base import (
    BUILD_FIELDS,
    STATUS_HELP,
    BuildInfo,
    ParsedFile,
    ParsedResult,
    ParseError,
    as_utc,
    parse_iso_datetime,
)
from .messages import FAILING_STATUSES, failure_message

FORMAT_NAME = "assay-results/1"
SCHEMA_FILE = "assay-results-v1.schema.json"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the format, as a dict (a fresh copy each call)."""
    text = resources.files(__package__).joinpath("schemas", SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


@cache
def _validator():
    return fastjsonschema.compile(load_schema())


class _BadConstant(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _BadConstant(name)


def parse_json(text: str, filename: str) -> ParsedFile:
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ParseError(
            filename, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})"
        ) from None
    except _BadConstant as exc:
        raise ParseError(filename, None, f"invalid JSON: {exc} is not a JSON number") from None
    except RecursionError:
        raise ParseError(filename, None, "invalid JSON: nested too deeply") from None
    if isinstance(document, dict) and document.get("format") not in (None, FORMAT_NAME):
        raise ParseError(
            filename,
            None,
            f"format: unsupported format {document['format']!r}; this importer reads "
            f"{FORMAT_NAME!r}",
        )
    try:
        _validator()(document)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise ParseError(filename, None, _describe(exc)) from None
    results = _results(document, filename)
    if not results:
        raise ParseError(filename, None, 'no test results found ("results" is empty)')
    return ParsedFile(format="json", flavour="", results=results, build=_build(document, filename))


def _describe(exc: fastjsonschema.JsonSchemaValueException) -> str:
    """A schema violation as ``path: what is wrong``, e.g. ``results[3].status: ...``."""
    name = exc.name or "data"
    path = name[len("data") :].lstrip(".")
    message = exc.message
    if message.startswith(name):
        message = message[len(name) :].strip()
    where = path or "top level"
    value = exc.value
    if exc.rule == "enum" and path.endswith(".status"):
        return f"{where}: {value!r} is not a valid status ({STATUS_HELP})"
    if exc.rule == "const" and path == "format":
        return f'format: must be "{FORMAT_NAME}"'
    if exc.rule == "required":
        missing = [key for key in exc.rule_definition if key not in (value or {})]
        return f"{where}: missing required field(s) {', '.join(map(repr, missing))}"
    if exc.rule == "additionalProperties":
        allowed = set((exc.definition or {}).get("properties", {}))
        unknown = sorted(key for key in (value or {}) if key not in allowed)
        return f"{where}: unknown field(s) {', '.join(map(repr, unknown))}"
    if exc.rule == "type":
        shown = json.dumps(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{where}: {message}, not {shown}"
    if exc.rule == "pattern" and isinstance(value, str):
        if path.endswith(("start_time", "end_time", "started_at", "ended_at")):
            return f"{where}: {value!r} is not an RFC 3339 date-time (e.g. 2024-03-11T10:15:02.25Z)"
        return f"{where}: {value!r} must not be blank"
    return f"{where}: {message}"


def _attributes(values: dict[str, Any], index: int, field: str, filename: str) -> dict[str, str]:
    for value in values.values():
        if type(value) is not str:
            break
    else:
        return values  # all strings (the usual case): json.loads made a fresh dict
    out: dict[str, str] = {}
    for key, value in values.items():
        kind = type(value)
        if kind is str:
            out[key] = value
        elif kind is bool:
            out[key] = "true" if value else "false"
        elif kind is int:
            out[key] = str(value)
        elif math.isfinite(value):
            out[key] = repr(value)  # 1.5, 1e+20: as json.dumps writes floats
        else:
            raise ParseError(
                filename, None, f"results[{index}].{field}.{key}: must be a finite number"
            )
    return out


def _build(document: dict[str, Any], filename: str) -> BuildInfo:
    """The top level's build fields (the schema checked their types)."""
    given = {key: document[key] for key in BUILD_FIELDS if key in document}
    if not given and "attributes" not in document:
        return BuildInfo()
    for key in ("started_at", "ended_at"):
        if key in given:
            given[key] = _timestamp(given[key], None, key, filename)
    return BuildInfo(**given, attributes=document.get("attributes", {}))


def _timestamp(value: str, index: int | None, field: str, filename: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)  # fast path; the schema checked the shape
    except ValueError:
        try:
            return parse_iso_datetime(value)  # lower-case t/z and the like
        except ValueError:
            where = field if index is None else f"results[{index}].{field}"
            raise ParseError(
                filename, None, f"{where}: {value!r} is not a valid date-time"
            ) from None
    return parsed if parsed.tzinfo is not None else as_utc(parsed)


def _results(document: dict[str, Any], filename: str) -> list[ParsedResult]:
    run = document.get("run")
    default_project = document.get("project")
    default_host = document.get("host")
    default_context = document.get("context")
    default_runner = document.get("test_runner", "")
    results: list[ParsedResult] = []
    append = results.append
    for index, item in enumerate(document["results"]):
        get = item.get
        start = get("start_time")
        if start is not None:
            start = _timestamp(start, index, "start_time", filename)
        end = get("end_time")
        if end is not None:
            end = _timestamp(end, index, "end_time", filename)
        duration = get("duration")
        if duration is not None:
            if not math.isfinite(duration):
                raise ParseError(
                    filename, None, f"results[{index}].duration: must be a finite number"
                )
            duration = float(duration)
        elif start is not None and end is not None and end >= start:
            duration = (end - start).total_seconds()
        tda = get("tda")
        tra = get("tra")
        status = item["status"]
        log = get("log", "")
        message = get("message", "")
        if message or (log and status in FAILING_STATUSES):
            message = failure_message(status, message, log)
        append(
            ParsedResult(
                test_name=item["name"],
                status=status,
                test_run=run,
                project=get("project", default_project),
                host=get("host", default_host),
                context=get("context", default_context),
                start_time=start,
                end_time=end,
                duration=duration,
                location=get("location", ""),
                test_runner=get("test_runner", default_runner),
                log=log,
                tda=_attributes(tda, index, "tda", filename) if tda else {},
                tra=_attributes(tra, index, "tra", filename) if tra else {},
                message=message,
            )
        )
    _check_unique(results, filename)
    return results


def _check_unique(results: list[ParsedResult], filename: str) -> None:
    seen: dict[tuple, int] = {}
    for index, result in enumerate(results):
        key = (result.project, result.host, result.context, result.test_name)
        first = seen.setdefault(key, index)
        if first != index:
            raise ParseError(
                filename,
                None,
                f"results[{index}]: duplicate result for {result.test_name!r} "
                f"(same as results[{first}]; name, project, host and context must differ)",
            )
