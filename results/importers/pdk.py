"""Pandokia "pdk" log files.

The format and its semantics follow Pandokia's own importer (``pandokia/import_data.py``)
and its documentation (``doc/source/file_format.rst``, ``report_fields.rst``)::

    START                      # optional: forget everything read so far, defaults too
    test_run=nightly           # name=value: a one-line field
    project=assay
    SETDEFAULT                 # the fields above become defaults for later records
    test_name=pkg.mod.test_a
    status=P
    start_time=1700000000.25   # seconds since 1970, or YYYY-MM-DD HH:MM:SS[.fff]
    log:                       # name: starts a multi-line field ...
    .first line                # ... one line per "."-prefixed line (the dot is dropped)
    .second line
                               # ... ended by a blank line
    tda_threads=4              # test definition attribute "threads"
    tra_rows=100               # test result attribute "rows"
    END                        # ends the record

Where Pandokia merely prints "Invalid input" and carries on (an unrecognised line, text
after ``name:``, a record cut off by the end of the file, ...) we refuse the file with a
``ParseError`` naming the line: an import is all or nothing, and a half-understood file
is more likely truncated or corrupt than intended. What Pandokia accepts silently, we
accept too (unknown field names are ignored, with a warning).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from .base import (
    STATUS_HELP,
    OutOfRange,
    ParsedFile,
    ParsedResult,
    ParseError,
    as_utc,
    check_time,
    epoch_to_datetime,
    fill_duration,
    identity,
    is_valid_status,
    parse_iso_datetime,
)
from .messages import FAILING_STATUSES, failure_message

# Fields that Pandokia's importer reads (besides tda_* and tra_*). "name" is an old alias
# of test_name, "attn" overrides Pandokia's "needs attention" flag.
_SCALARS = ("test_run", "project", "host", "context", "location", "test_runner", "log")
KNOWN_FIELDS = frozenset(
    _SCALARS + ("test_name", "name", "status", "start_time", "end_time", "attn")
)
# Empty values of these mean "not given", so that the upload's defaults apply.
_IDENTITY_FIELDS = ("test_run", "project", "host", "context")
_NAME_FIELDS = frozenset(("test_name", "name"))


class _Whole:
    """The lines without the last piece when it is the "" after a final newline; `complete`
    says, once they have all been read, whether the file ended with a newline."""

    def __init__(self, lines: Iterable[str]):
        self.complete = True
        self.lines = self._whole(lines)

    def _whole(self, lines: Iterable[str]) -> Iterator[str]:
        pieces = iter(lines)
        previous = next(pieces, None)
        for piece in pieces:
            yield previous
            previous = piece
        if previous:  # text after the last newline: the file was cut off mid-line
            self.complete = False
            yield previous


class _Field:
    __slots__ = ("value", "line")

    def __init__(self, value: str, line: int):
        self.value = value
        self.line = line


def parse_pdk(text: str | Iterable[str], filename: str) -> ParsedFile:
    """``text``: the whole file, or its lines without their "\\n" (the last "" when the file
    ends with one), read as they come: the file is never held whole."""
    parser = _PdkParser(filename)
    parser.run(text.split("\n") if isinstance(text, str) else text)
    if not parser.results:
        raise ParseError(filename, None, "no test results found")
    return ParsedFile(format="pdk", flavour="", results=parser.results, warnings=parser.warnings)


class _PdkParser:
    def __init__(self, filename: str):
        self.filename = filename
        self.results: list[ParsedResult] = []
        self.warnings: list[str] = []
        self._seen: dict[tuple, int] = {}
        self._unknown: set[str] = set()

    def error(self, line: int | None, message: str) -> ParseError:
        return ParseError(self.filename, line, message)

    def run(self, lines: Iterable[str]) -> None:
        """``lines``: the file's lines without their "\\n"; the last is "" when the file ends
        with one. Read with one line of look-ahead (``ahead``), inline: this loop runs once per
        line, and a reader's method call per line was a seventh of the parse."""
        whole = _Whole(lines)
        pieces = whole.lines
        ahead = next(pieces, None)
        number = 0  # the last line taken
        defaults: dict[str, _Field] = {}
        record: dict[str, _Field] = {}
        record_start: int | None = None  # line of the first field set since the last END
        given: dict[str, int] = {}  # "test_name" -> its line, once set since the last END
        while ahead is not None:
            raw = ahead
            ahead = next(pieces, None)
            number += 1
            lineno = number
            line = raw.strip()
            if not line or line[0] == "#":
                continue
            if line == "END":
                if record_start is not None:
                    self.finish(record, lineno)
                # else: an END with nothing new since the last one is ignored, as Pandokia
                record = dict(defaults)
                record_start = None
                given = {}
                continue
            if line == "SETDEFAULT":
                if "test_name" in record or "name" in record:
                    raise self.error(lineno, "test_name is not allowed before SETDEFAULT")
                defaults = dict(record)
                record_start = None  # everything pending became a default
                given = {}
                continue
            if line == "START":
                defaults = {}
                record = {}
                record_start = None
                given = {}
                continue
            equals = line.find("=")
            if equals >= 0:
                name = line[:equals].lower()
                if name in _NAME_FIELDS:
                    self.once(given, lineno, record_start)
                record[name] = _Field(line[equals + 1 :], lineno)
                if record_start is None:
                    record_start = lineno
                continue
            colon = line.find(":")
            if colon >= 0:
                name = line[:colon].lower()
                if name in _NAME_FIELDS:
                    self.once(given, lineno, record_start)
                if line[colon + 1 :].strip():
                    raise self.error(
                        lineno,
                        f"unexpected text after '{line[: colon + 1]}': a multi-line value "
                        "starts on the next line, each line prefixed with '.'",
                    )
                parts: list[str] = []
                while True:
                    raw = ahead
                    if raw is None:
                        raise self.error(
                            number,
                            f"the file ends inside the multi-line value '{name}' started at "
                            f"line {lineno} (truncated file?)",
                        )
                    if raw.endswith("\r"):
                        raw = raw[:-1]
                    if raw.startswith("."):
                        parts.append(raw[1:])
                        ahead = next(pieces, None)
                        number += 1
                        continue
                    if not raw.strip():  # the blank line that ends the value
                        ahead = next(pieces, None)
                        number += 1
                    # Anything else also ends the value (Pandokia insists on the blank
                    # line); that line is then read as usual.
                    break
                record[name] = _Field("".join(part + "\n" for part in parts), lineno)
                if record_start is None:
                    record_start = lineno
                continue
            shown = line if len(line) <= 60 else line[:57] + "..."
            # The last line, without a newline: the file was cut off there.
            cut_off = ahead is None and not whole.complete and lineno == number
            hint = " (truncated file?)" if cut_off else ""
            raise self.error(
                lineno,
                f"unrecognised line {shown!r}: expected name=value, name:, "
                f"START, SETDEFAULT, END or a # comment{hint}",
            )
        if record_start is not None:
            raise self.error(
                number,
                f"the file ends inside the record started at line {record_start}: "
                "missing END (truncated file?)",
            )

    def once(self, given: dict[str, int], lineno: int, start: int | None) -> None:
        """A test name (test_name= or name=) is given: a second one in one record means the
        END between two records is missing, and Pandokia would merge them, losing a test
        without a word. (Other fields may be given again: the later value wins, as in
        Pandokia; but every record names its test.)"""
        if "test_name" in given:
            raise self.error(
                lineno,
                f"a second test name in the record started at line {start} (the first at "
                f"line {given['test_name']}): is the END line missing before line {lineno}?",
            )
        given["test_name"] = lineno

    def finish(self, record: dict[str, _Field], end_line: int) -> None:
        name_field = record.get("name") or record.get("test_name")
        if name_field is None:
            raise self.error(end_line, "record without test_name")
        test_name = _pandokia_test_name(name_field.value)
        if not test_name:
            raise self.error(name_field.line, "empty test_name")

        status_field = record.get("status")
        if status_field is None:
            raise self.error(end_line, f"record for {test_name!r} has no status")
        status = status_field.value.strip()
        if not is_valid_status(status):
            raise self.error(
                status_field.line,
                f"invalid status {status_field.value!r} for {test_name!r}: {STATUS_HELP}",
            )

        # The result's fields gathered first and the result made once: this runs per record.
        get = record.get
        fields: dict = {"test_name": test_name, "status": status}
        for key in _IDENTITY_FIELDS:
            found = get(key)
            if found is not None:
                value = found.value.strip()
                if value:
                    fields[key] = value
        for key in ("location", "test_runner", "log"):
            found = get(key)
            if found is not None:
                fields[key] = found.value
        tda: dict[str, str] = {}
        tra: dict[str, str] = {}
        for key, found in record.items():
            if key in KNOWN_FIELDS:
                continue
            if key.startswith("tda_"):
                tda[key[4:]] = found.value
            elif key.startswith("tra_"):
                tra[key[4:]] = found.value
            elif key not in self._unknown:
                self._unknown.add(key)
                self.warnings.append(
                    f"line {found.line}: unknown field {key!r} ignored (as Pandokia does)"
                )
        result = ParsedResult(
            **fields,
            start_time=self.time(get("start_time"), "start_time"),
            end_time=self.time(get("end_time"), "end_time"),
            tda=tda,
            tra=tra,
        )
        if result.log and status in FAILING_STATUSES:
            result.message = failure_message(status, "", result.log)
        fill_duration(result)

        attn = record.get("attn")
        if attn is not None:
            flag = attn.value.strip().upper()
            if flag not in ("Y", "N"):
                raise self.error(attn.line, f"invalid attn {attn.value!r}: expected Y or N")
            result.tra["_attn"] = flag

        key = identity(result)
        first = self._seen.get(key)
        if first is not None:
            # Pandokia keeps the first result and reports the duplicate.
            self.warnings.append(
                f"line {end_line}: duplicate result for {test_name!r} ignored "
                f"(first one ends at line {first})"
            )
            return
        self._seen[key] = end_line
        self.results.append(result)

    def time(self, found: _Field | None, what: str) -> datetime | None:
        if found is None or not found.value.strip():
            return None
        try:
            return parse_pdk_time(found.value)
        except OutOfRange as exc:
            raise self.error(found.line, f"{what} {found.value.strip()!r} is {exc}") from None
        except ValueError:
            raise self.error(
                found.line,
                f"invalid {what} {found.value!r}: expected seconds since 1970 or "
                "YYYY-MM-DD HH:MM:SS[.fff]",
            ) from None


def parse_pdk_time(text: str) -> datetime:
    """Pandokia's time formats (``pandokia.common.parse_time``), as aware datetimes.

    Tried in this order: seconds since 1970 (``1263488141``, ``1263488141.25``); SQL-like
    ``2010-01-14 11:55:41[.25]`` (an ISO ``T`` and a UTC offset are accepted too); ctime
    ``Thu Jan 14 11:55:41 2010``. Pandokia takes the last two as local time of the
    importing machine; we take naive values as UTC.
    """
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return epoch_to_datetime(seconds)
    try:
        return parse_iso_datetime(text)
    except OutOfRange:
        raise
    except ValueError:
        pass
    return check_time(as_utc(datetime.strptime(text, "%a %b %d %H:%M:%S %Y")))


def _pandokia_test_name(name: str) -> str:
    """Clean a test name the way Pandokia's importer does."""
    for char in "\n\t ":
        name = name.replace(char, "_")
    name = name.lstrip("/.")
    if name.endswith((".xml", ".log")):
        name = name[:-4]
    while "//" in name:
        name = name.replace("//", "/")
    return name
