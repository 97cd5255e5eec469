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

from collections.abc import Iterable
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
_NAME_FIELDS = frozenset(("test_name", "name"))


Field = tuple[str, int]  # a field's value and the line it was given on


def parse_pdk(text: str | Iterable[list[str]], filename: str) -> ParsedFile:
    """``text``: the whole file, or its lines without their "\\n" in batches, as they are read
    (the last batch's last line is "" when the file ends with one): the file is never held
    whole."""
    parser = _PdkParser(filename)
    parser.run([text.split("\n")] if isinstance(text, str) else text)
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

    def run(self, batches: Iterable[list[str]]) -> None:
        """``batches``: lists of the file's lines without their "\\n"; the last line of the
        last batch is "" when the file ends with one. One loop over every line, its state in
        locals (a multi-line value being read is `value_name`): a method call or a generator
        step per line was a seventh of the parse each."""
        number = 0  # the last line taken
        last = -1  # the number of the last line, once the last batch is reached
        complete = True  # whether the file ended with a newline
        defaults: dict[str, Field] = {}
        record: dict[str, Field] = {}
        record_start: int | None = None  # line of the first field set since the last END
        given: dict[str, int] = {}  # "test_name" -> its line, once set since the last END
        value_name: str | None = None  # the multi-line value being read, its line, its lines
        value_line = 0
        parts: list[str] = []
        batches = iter(batches)
        batch = next(batches, None)
        while batch is not None:
            following = next(batches, None)
            if following is None:  # the last batch: its last piece follows the last newline
                complete = not batch or batch[-1] == ""
                if complete and batch:
                    batch.pop()
                last = number + len(batch)
            for raw in batch:
                number += 1
                if value_name is not None:
                    if raw.endswith("\r"):
                        raw = raw[:-1]
                    if raw.startswith("."):
                        parts.append(raw[1:])
                        continue
                    record[value_name] = ("".join(part + "\n" for part in parts), value_line)
                    if record_start is None:
                        record_start = value_line
                    value_name = None
                    if not raw.strip():  # the blank line that ends the value
                        continue
                    # Anything else also ends the value (Pandokia insists on the blank line);
                    # that line is then read as usual.
                line = raw.strip()
                if not line or line[0] == "#":
                    continue
                equals = line.find("=")  # first: most lines are name=value, no keyword has "="
                if equals >= 0:
                    name = line[:equals].lower()
                    if name in _NAME_FIELDS:
                        self.once(given, number, record_start)
                    record[name] = (line[equals + 1 :], number)
                    if record_start is None:
                        record_start = number
                    continue
                if line == "END":
                    if record_start is not None:
                        self.finish(record, number)
                    # else: an END with nothing new since the last one is ignored, as Pandokia
                    record = dict(defaults)
                    record_start = None
                    given = {}
                    continue
                if line == "SETDEFAULT":
                    if "test_name" in record or "name" in record:
                        raise self.error(number, "test_name is not allowed before SETDEFAULT")
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
                colon = line.find(":")
                if colon >= 0:
                    name = line[:colon].lower()
                    if name in _NAME_FIELDS:
                        self.once(given, number, record_start)
                    if line[colon + 1 :].strip():
                        raise self.error(
                            number,
                            f"unexpected text after '{line[: colon + 1]}': a multi-line value "
                            "starts on the next line, each line prefixed with '.'",
                        )
                    value_name, value_line, parts = name, number, []
                    continue
                shown = line if len(line) <= 60 else line[:57] + "..."
                # The last line, without a newline: the file was cut off there.
                hint = " (truncated file?)" if not complete and number == last else ""
                raise self.error(
                    number,
                    f"unrecognised line {shown!r}: expected name=value, name:, "
                    f"START, SETDEFAULT, END or a # comment{hint}",
                )
            batch = following
        if value_name is not None:
            raise self.error(
                number,
                f"the file ends inside the multi-line value '{value_name}' started at "
                f"line {value_line} (truncated file?)",
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

    def finish(self, record: dict[str, Field], end_line: int) -> None:
        get = record.get
        name_field = get("name") or get("test_name")
        if name_field is None:
            raise self.error(end_line, "record without test_name")
        test_name = _pandokia_test_name(name_field[0])
        if not test_name:
            raise self.error(name_field[1], "empty test_name")

        status_field = get("status")
        if status_field is None:
            raise self.error(end_line, f"record for {test_name!r} has no status")
        status = status_field[0].strip()
        if not is_valid_status(status):
            raise self.error(
                status_field[1],
                f"invalid status {status_field[0]!r} for {test_name!r}: {STATUS_HELP}",
            )

        # The result's fields gathered first and the result made once: this runs per record.
        # Spelled out: a generator over the field names cost as much as the rest of this.
        # Empty identity values mean "not given", so that the upload's defaults apply.
        found = get("test_run")
        test_run = (found[0].strip() or None) if found is not None else None
        found = get("project")
        project = (found[0].strip() or None) if found is not None else None
        found = get("host")
        host = (found[0].strip() or None) if found is not None else None
        found = get("context")
        context = (found[0].strip() or None) if found is not None else None
        found = get("location")
        location = found[0] if found is not None else ""
        found = get("test_runner")
        test_runner = found[0] if found is not None else ""
        found = get("log")
        log = found[0] if found is not None else ""
        tda: dict[str, str] = {}
        tra: dict[str, str] = {}
        for key, found in record.items():
            if key in KNOWN_FIELDS:
                continue
            if key.startswith("tda_"):
                tda[key[4:]] = found[0]
            elif key.startswith("tra_"):
                tra[key[4:]] = found[0]
            elif key not in self._unknown:
                self._unknown.add(key)
                self.warnings.append(
                    f"line {found[1]}: unknown field {key!r} ignored (as Pandokia does)"
                )
        start = get("start_time")
        end = get("end_time")
        result = ParsedResult(
            test_name, status, test_run, project, host, context,
            None if start is None else self.time(start, "start_time"),
            None if end is None else self.time(end, "end_time"),
            None, location, test_runner, log, tda, tra,
        )  # fmt: skip
        if log and status in FAILING_STATUSES:
            result.message = failure_message(status, "", log)
        fill_duration(result)

        attn = get("attn")
        if attn is not None:
            flag = attn[0].strip().upper()
            if flag not in ("Y", "N"):
                raise self.error(attn[1], f"invalid attn {attn[0]!r}: expected Y or N")
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

    def time(self, found: Field, what: str) -> datetime | None:
        value, line = found
        try:
            return parse_pdk_time(value)
        except OutOfRange as exc:
            raise self.error(line, f"{what} {value.strip()!r} is {exc}") from None
        except ValueError:
            if not value.strip():
                return None
            raise self.error(
                line,
                f"invalid {what} {value!r}: expected seconds since 1970 or "
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
