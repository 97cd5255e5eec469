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
import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema

from .base import (
    BUILD_FIELDS,
    MAX_SECONDS,
    STATUS_HELP,
    BuildInfo,
    OutOfRange,
    ParsedFile,
    ParsedResult,
    ParseError,
    as_utc,
    check_seconds,
    check_time,
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
    except ValueError as exc:  # an integer of more than 4300 digits (Python's own limit)
        digits = _LONG_NUMBER_RE.search(text)
        line = text.count("\n", 0, digits.start()) + 1 if digits else None
        raise ParseError(filename, line, f"invalid JSON: {_one_line(exc)}") from None
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
    _check_escapes(text, document, filename)
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
        try:
            parsed = datetime.fromisoformat(value)  # fast path; the schema checked the shape
        except ValueError:
            return parse_iso_datetime(value)  # lower-case t/z and the like
        return check_time(parsed if parsed.tzinfo is not None else as_utc(parsed))
    except OutOfRange as exc:
        raise ParseError(filename, None, f"{_where(index, field)}: {value!r} is {exc}") from None
    except ValueError:
        raise ParseError(
            filename, None, f"{_where(index, field)}: {value!r} is not a valid date-time"
        ) from None


def _where(index: int | None, field: str) -> str:
    """A top-level field (the build's) or one of a result's."""
    return field if index is None else f"results[{index}].{field}"


def _duration(value: float, index: int, filename: str) -> float:
    try:
        return check_seconds(float(value))  # a 400-digit integer: OverflowError
    except (OutOfRange, OverflowError):
        problem = f"out of range: at most {MAX_SECONDS:.0e} seconds"
    except ValueError:
        problem = "must be a finite number"
    raise ParseError(filename, None, f"results[{index}].duration: {problem}")


# Only an escape can put into a JSON string what no database stores as text (the file itself
# is valid UTF-8): a NUL (\u0000), or half of a UTF-16 surrogate pair (\ud800 alone). Such
# a file is refused, not repaired: its producer wrote broken text, and a replaced character
# would hide that. Runs of backslashes are matched whole: "\\u0000" is not an escape.
_ESCAPE_RE = re.compile(r"(\\+)u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_LONG_NUMBER_RE = re.compile(r"\d{4300}")


def _bad_escape(text: str) -> tuple[int, str] | None:
    """(offset, escape) of the first \u0000 or unpaired surrogate escape in ``text``."""
    if "\\u" not in text:
        return None
    high: re.Match | None = None  # a high surrogate waiting for its low half
    for match in _ESCAPE_RE.finditer(text):
        if len(match.group(1)) % 2 == 0:
            continue  # an escaped backslash followed by the letter u
        code = int(match.group(2), 16)
        if high is not None:
            if 0xDC00 <= code <= 0xDFFF and match.start() == high.end():
                high = None  # a proper pair (an emoji, say)
                continue
            break
        if 0xD800 <= code <= 0xDBFF:
            high = match
            continue
        return match.end(1) - 1, match.group(0)[len(match.group(1)) - 1 :]
    if high is None:
        return None
    return high.end(1) - 1, high.group(0)[len(high.group(1)) - 1 :]


def _is_bad(value: str) -> bool:
    return "\x00" in value or not value.isascii() and bool(_LONE_SURROGATE_RE.search(value))


def _bad_path(node: Any, path: str) -> str | None:
    """Where the first bad string is (the schema has bounded the document's depth)."""
    if isinstance(node, str):
        return path if _is_bad(node) else None
    if isinstance(node, list):
        items = ((f"{path}[{i}]", value) for i, value in enumerate(node))
    elif isinstance(node, dict):
        for key in node:
            if _is_bad(key):
                return f"{path}.{key.encode('utf-8', 'backslashreplace').decode()} (a name)"
        items = ((f"{path}.{key}" if path else key, value) for key, value in node.items())
    else:
        return None
    for where, value in items:
        found = _bad_path(value, where)
        if found:
            return found
    return None


def _check_escapes(text: str, document: Any, filename: str) -> None:
    found = _bad_escape(text)
    if found is None:
        return
    offset, escape = found
    what = (
        "a NUL character (\\u0000), which cannot be stored as text"
        if escape == "\\u0000"
        else f"half of a UTF-16 surrogate pair ({escape} alone), which is not text (was the "
        "file written with a broken encoding?)"
    )
    where = _bad_path(document, "") or "a string"
    raise ParseError(filename, text.count("\n", 0, offset) + 1, f"{where}: {what}")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


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
            duration = _duration(duration, index, filename)
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
