"""Group findings into the bugs behind them.

A random-query run finds the same bug thousands of times, each time with other constants and
names. A finding's signature is a digest of its kind, the shape of its reduced query and its
normalized error message, so those thousands share one signature, while a different operator,
function or join kind (or a different error) gives another.

``normalize_error`` rules, applied in this order:

1. Keep the first non-empty line: later lines are context that varies with the query (DuckDB's
   ``LINE 1: <query>`` and carets, candidate bindings, "Did you mean", stack traces).
2. Single-quoted text ``'…'`` (with ``''`` escapes) becomes ``<str>``. A quote right after a
   letter is an apostrophe ("can't"), not an opening quote.
3. Double-quoted and backquoted text (``"…"``, ``` `…` ```) becomes ``<id>``.
4. UUIDs become ``<uuid>``.
5. ``0x…`` hexadecimal numbers, and runs of 12 or more hex digits mixing digits and letters
   (addresses, hashes), become ``<hex>``.
6. File paths become ``<path>``, with any ``:line[:column]`` after them: absolute paths
   (``/…``, ``~/…``, ``./…``, ``../…``, ``C:\\…``) and relative paths of two or more parts
   ending in an extension (``src/function/cast.cpp``).
7. Numbers become ``<n>``: integers, decimals, exponents, with a leading minus sign when it is
   not a subtraction (not after a word or a closing bracket). Digits inside words too, so type
   and generated names keep their letters: ``INT32`` -> ``INT<n>``, ``c0`` -> ``c<n>``.
8. Runs of whitespace become one space; the ends are stripped.
9. A comma-separated run of two or more identical items becomes the first one and ``, ...``:
   DuckDB's ``(bindings: {#[3.0], #[3.1], #[7.0]})`` names as many bindings as the query had
   tables, and one bug must not make a group per count (``{#[<n>], ...}``).
10. The expression an error quotes in parentheses after ``expression`` becomes ``(...)``:
   DuckDB's ``Division by zero in expression (c0 % c1)`` quotes the query's own operands, and
   one behaviour must not make a group per spelling of them.
11. In an internal error (``INTERNAL Error``), type names become ``<type>``: DuckDB's
   ``Vector::Reference used on vector of different type (source INTEGER referenced VARCHAR)``
   names the types of whatever columns the query happened to touch (31 pairs of them for one
   bug in an hour of the demo). Elsewhere types stay: "Could not convert DATE to INTEGER" and
   "... VARCHAR to INTEGER" are different refusals.

A crash (kind ``crash``) is signed by its error alone, without the query's shape: an internal
error's message names the invariant that broke, and the queries that break it are as varied as
the generator (one DuckDB crash made 52 groups by shape in an hour of the demo).

Words are kept as they are (case included). Unquoted names without digits (SQLite's
``no such function: foo``) are kept: nothing tells them from words. The rules are idempotent:
normalizing a normalized text changes nothing.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

SIGNATURE_LENGTH = 16  # hex digits: 64 bits, no collision among any realistic number of bugs

# results/importers/messages.py normalizes test failures with copies of some of these patterns;
# changing one here changes no fingerprint (see the comment there).
_SINGLE_QUOTED = re.compile(r"(?<![A-Za-z])'(?:[^'\n]|'')*'")
_DOUBLE_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.|"")*"|`[^`\n]*`')
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_HEX = re.compile(
    r"\b0[xX][0-9a-fA-F]+\b"
    r"|\b(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{12,}\b"
)
_SEGMENT = r"[\w.+@-]+"
_PATH = re.compile(
    rf"(?:(?<![\w/\\.~])(?:[A-Za-z]:[\\/]|~/|\.{{1,2}}/|/)(?:{_SEGMENT}[\\/])*{_SEGMENT}"
    rf"|(?<![\w/\\.])(?:{_SEGMENT}[\\/])+{_SEGMENT}\.[A-Za-z]\w*)"
    r"(?::\d+){0,2}"
)
_NUMBER = re.compile(r"(?:(?<![\w)\]])-)?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_SPACE = re.compile(r"\s+")
# "expression (" up to the matching parenthesis of one nesting level or two
_QUOTED_EXPRESSION = re.compile(r"(?P<word>\bexpression) \((?:[^()]|\([^()]*\))*\)")
_TYPE_NAME = re.compile(
    r"\b(?:BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UHUGEINT|UTINYINT|USMALLINT|UINTEGER"
    r"|UBIGINT|FLOAT|DOUBLE|DECIMAL(?:\(<n>(?:, ?<n>|, \.\.\.)?\))?|VARCHAR|BLOB|DATE|TIME"
    r"|TIMESTAMP(?:_[A-Z]+| WITH TIME ZONE)?|INTERVAL|UUID|BIT|NULL)(?![\w(])"
)
_REPEATED = re.compile(r"(?P<item>[^,\s{}()](?:[^,{}()]*[^,\s{}()])?)(?:\s*,\s*(?P=item))+")


def normalize_error(text: str) -> str:
    """An error message with what varies between occurrences of one bug taken out; see the
    module docstring for the rules."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    line = _SINGLE_QUOTED.sub("<str>", line)
    line = _DOUBLE_QUOTED.sub("<id>", line)
    line = _UUID.sub("<uuid>", line)
    line = _HEX.sub("<hex>", line)
    line = _PATH.sub("<path>", line)
    line = _NUMBER.sub("<n>", line)
    line = _SPACE.sub(" ", line).strip()
    line = _REPEATED.sub(r"\g<item>, ...", line)
    line = _QUOTED_EXPRESSION.sub(r"\g<word> (...)", line)
    if "INTERNAL Error" in line:
        line = _REPEATED.sub(r"\g<item>, ...", _TYPE_NAME.sub("<type>", line))
    return line


# --- signatures -----------------------------------------------------------------------------


def _text(kind: str | enum.Enum) -> str:
    return str(kind.value) if isinstance(kind, enum.Enum) else kind


def signature(kind: str | enum.Enum, shape: str, error: str = "") -> str:
    """A short, stable hex digest of (kind, shape, normalized error): one per bug. A crash's
    shape is left out (see the module docstring)."""
    kind = _text(kind)
    text = "\x1f".join((kind, "" if kind == "crash" else shape, normalize_error(error)))
    return hashlib.sha256(text.encode()).hexdigest()[:SIGNATURE_LENGTH]


# --- known issues ---------------------------------------------------------------------------

Action = Literal["label", "silence"]


@dataclass(frozen=True)
class KnownIssue:
    """A bug already reported: findings it matches are labelled with its URL, or silenced.

    ``pattern`` is a regular expression searched (``re.search``) in the text ``match_known``
    builds. It is checked when the issue is built: an invalid or empty pattern (which would
    match every finding) is refused with a ValueError.
    """

    pattern: str
    url: str
    action: Action = "label"
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.action not in ("label", "silence"):
            raise ValueError(
                f"known issue {self.url}: action must be 'label' or 'silence', not {self.action!r}"
            )
        if not self.pattern:
            raise ValueError(f"known issue {self.url}: the pattern is empty and would match all")
        try:
            compiled = re.compile(self.pattern)
        except re.error as e:
            raise ValueError(
                f"known issue {self.url}: pattern {self.pattern!r} is not a valid regular "
                f"expression: {e}"
            ) from e
        object.__setattr__(self, "regex", compiled)


def match_text(*, kind: str | enum.Enum, shape: str, error: str, sql: str) -> str:
    """What known-issue patterns are searched in: four lines, the kind (``content``,
    ``error``...), the normalized error, the SQL, and the query shape."""
    return "\n".join((_text(kind), normalize_error(error), sql, shape))


def match_known(
    issues: Iterable[KnownIssue],
    *,
    kind: str | enum.Enum,
    shape: str,
    error: str,
    sql: str,
) -> KnownIssue | None:
    """The first issue, in the order given, whose pattern is found in the finding's text."""
    text = match_text(kind=kind, shape=shape, error=error, sql=sql)
    for issue in issues:
        if issue.regex.search(text):
            return issue
    return None
