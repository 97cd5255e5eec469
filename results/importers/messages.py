"""Failure messages: the reason a result failed, and the fingerprint that clusters them.

A failing result keeps one message (JUnit's failure/error ``message``, else the first line of
its text; pdk's and the JSON format's first line of the log). Results that fail for the same
reason share a fingerprint: a hash of the message with what varies between occurrences
taken out, as querygen normalizes engine errors (``querygen/engine/signature.py``), tailored
to test failures. ``normalize_message`` rules, in this order:

1. Control characters become spaces; runs of whitespace (line breaks included: googletest's
   and pytest's messages span lines) become one space.
2. JUnit/Hamcrest/AssertJ values in angle brackets (``expected:<3> but was:<4>``,
   ``expected: <abc>``) become ``<v>``.
3. Single-, double- and back-quoted text becomes ``<str>`` (a quote right after a letter is
   an apostrophe: "can't"). Python's ``File "/x/y.py", line 12`` becomes
   ``File <str>, line <n>``.
4. UUIDs become ``<uuid>``; date-times, dates and clock times become ``<time>``.
5. ``0x…`` numbers and runs of 12 or more hex digits mixing digits and letters (addresses,
   hashes, commit ids) become ``<hex>``; IPv4 addresses (with a port) ``<ip>``.
6. File paths become ``<path>``, with any ``:line[:column]``: absolute (``/…``, ``~/…``,
   ``./…``, ``C:\\…``, temp dirs included) and relative paths of two or more parts ending in an
   extension. A bare file name keeps its name (``Bar.java:<n>``, ``main_test.go:<n>``):
   it tells tests apart.
7. Numbers become ``<n>``, with a leading minus sign that is not a subtraction, and digits
   inside words (``user_42`` -> ``user_<n>``, ``c0`` -> ``c<n>``), except in a dotted name's
   parts (``sqlite3.OperationalError``, ``org.opentest4j.…`` stay).
8. A comma-separated run of identical items becomes the first and ``, ...``: lists of
   different lengths (``[<n>, <n>, <n>]``) are one reason.

Words are kept (case included): ``AssertionError`` and ``TimeoutError`` stay apart. So do
status codes' contexts, but not their values: ``HTTP 404`` and ``HTTP 500`` are one
reason, as are ``expected 200, got 500`` and ``..., got 404`` (one ``assert`` in one place).
The rules are idempotent. Plain Python, no Django.
"""

from __future__ import annotations

import hashlib
import re

MESSAGE_LENGTH = 1000  # TestResult.message's max_length
FINGERPRINT_LENGTH = 16  # hex digits, TestResult.fingerprint's max_length
FAILING_STATUSES = frozenset("FEM")  # results that keep a message
_SCAN_LIMIT = 64 * 1024  # a first line is looked for in this much text: a 10 MB log costs nothing

# Rules 3-7 began as querygen/engine/signature.py's (its double-quote, UUID and hex patterns
# are still the same) and stay copies on purpose: fingerprints are stored and cluster mutes name
# them, signatures key querygen's groups, so a rule changes for one without re-keying the other.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACE = re.compile(r"\s+")
_PLACEHOLDERS = ("n", "v", "str", "hex", "uuid", "path", "ip", "time")
_ANGLE_VALUE = re.compile(
    r"(?i)(?P<lead>\b(?:expected|was|is|actual|got|but)\b:? ?)"
    rf"<(?!(?:{'|'.join(_PLACEHOLDERS)})>)[^<>\n]*>"
)
_SINGLE_QUOTED = re.compile(r"(?<![A-Za-z])'(?:[^'\\\n]|\\.|'')*'")
_DOUBLE_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.|"")*"|`[^`\n]*`')
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_TIME = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
    r"|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"
)
_HEX = re.compile(
    r"\b0[xX][0-9a-fA-F]+\b"
    r"|\b(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{12,}\b"
)
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")
_SEGMENT = r"[\w.+@-]+"
_PATH = re.compile(
    rf"(?:(?<![\w/\\.~<])(?:[A-Za-z]:[\\/]|~/|\.{{1,2}}/|/)(?:{_SEGMENT}[\\/])*{_SEGMENT}[\\/]?"
    rf"|(?<![\w/\\.])(?:{_SEGMENT}[\\/])+{_SEGMENT}\.[A-Za-z]\w*)"
    r"(?::\d+){0,2}"
)
_NUMBER = re.compile(
    # digits inside a word, unless the word is part of a dotted name (sqlite3.Error, opentest4j.)
    r"(?<=[A-Za-z_])\d+(?!\w*\.[A-Za-z_])"
    r"|(?:(?<![\w)\]>])-)?(?<![A-Za-z_])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_LIST_PARTS = re.compile(r"(\s*,\s*|[\[\]{}()])")  # list separators and brackets, kept


def clean(text: str) -> str:
    """Text that any database stores: lone surrogates (``"\\ud800"`` from JSON) become U+FFFD
    and control characters (NUL included) spaces; line breaks and tabs stay."""
    if not text.isascii():
        text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub(" ", text)


def clip(text: str, limit: int = MESSAGE_LENGTH) -> str:
    """At most `limit` characters, "…" marking a cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def first_line(text: str) -> str:
    """The first non-empty line of `text`, stripped (looked for in its first 64 KiB)."""
    head = text[:_SCAN_LIMIT]
    for line in head.splitlines():
        if line.strip():
            return line.strip()
    return ""


def failure_message(status: str, message: str = "", log: str = "") -> str:
    """What a result keeps as its reason: `message` when given (any status), else for a
    failing result (F, E, M) the first non-empty line of `log`; clean and clipped."""
    if message.strip():
        return clip(clean(message[: MESSAGE_LENGTH * 4]))
    if status in FAILING_STATUSES and log:
        return clip(first_line(clean(log[:_SCAN_LIMIT])))
    return ""


def normalize_message(text: str) -> str:
    """A failure message with what varies between occurrences of one failure taken out; see
    the module docstring for the rules."""
    # Messages are stored clipped to MESSAGE_LENGTH; the rules are linear or near enough on that.
    text = _SPACE.sub(" ", _CONTROL.sub(" ", text[:MESSAGE_LENGTH])).strip()
    text = _ANGLE_VALUE.sub(r"\g<lead><v>", text)
    text = _SINGLE_QUOTED.sub("<str>", text)
    text = _DOUBLE_QUOTED.sub("<str>", text)
    text = _UUID.sub("<uuid>", text)
    text = _TIME.sub("<time>", text)
    text = _HEX.sub("<hex>", text)
    text = _IP.sub("<ip>", text)
    text = _PATH.sub("<path>", text)
    text = _NUMBER.sub("<n>", text)
    return _collapse_repeats(text)


def _collapse_repeats(text: str) -> str:
    """Rule 8 in one pass (a regex with a back-reference is quadratic on long messages)."""
    if "," not in text:
        return text
    parts = _LIST_PARTS.split(text)  # items at even indexes, separators at odd ones
    out: list[str] = []
    i, count = 0, len(parts)
    while i < count:
        item = parts[i]
        out.append(item)
        j = i
        if i + 2 < count and "," in parts[i + 1]:
            after = parts[i + 2]
            if after and (item == after or item.endswith(" " + after)):
                j = i + 2
                while j + 2 < count and "," in parts[j + 1] and parts[j + 2] == after:
                    j += 2
        if j > i:
            out.append(", ...")
        if j + 1 < count:
            out.append(parts[j + 1])
        i = j + 2
    return "".join(out)


def fingerprint(message: str) -> str:
    """16 hex digits naming the normalized message; "" for no message."""
    if not message.strip():
        return ""
    normalized = normalize_message(message)
    digest = hashlib.blake2b(normalized.encode("utf-8", "replace"), digest_size=8)
    return digest.hexdigest()
