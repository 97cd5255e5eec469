"""Anonymization rules for the gate's datasets: what each ``table.column`` becomes when a
dataset is registered, deterministic under a secret.

The rules are YAML::

    strict: true            # the default: every text-like column needs a rule (keep included)
    shift_days: 365         # dates and timestamps shifted by one offset of at most this many days
    columns:
      users.email: email    # a fake address of the same length and shape
      users.name: name      # a fake name of the same length, capitals and spaces kept
      users.bio: text       # letters and digits replaced, length and punctuation kept
      users.token: hash     # HMAC-SHA256 of the value, hex, cut to the value's length (min 8)
      users.password: "null"
      users.created: shift  # moved by the dataset's offset
      users.status: keep
      users.kind: {constant: guest}

Deterministic: a value becomes the same fake value wherever it is (every column, every table),
so equal values stay equal and joins on them keep working; another secret gives other values.
Dates all move by one offset, so their order and the intervals between them stay. Strict mode
refuses a schema with a text-like column (text, or a type of no known family: json, bytea, uuid)
that no rule names, listing them.

Pure: no Django, no database; ``Rules.apply(table, column, value)`` maps one value.
"""

from __future__ import annotations

import datetime
import hmac
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["KINDS", "Rule", "Rules", "RulesError", "parse_rules", "unruled_columns"]

KINDS = ("keep", "hash", "name", "email", "text", "null", "shift", "constant")
# Families (dbkinds.base) a strict schema may leave without a rule: no personal text in them.
_PLAIN_FAMILIES = frozenset({"int", "float", "decimal", "bool", "date", "timestamp"})
MAX_RULES_BYTES = 1_000_000
_MAX_SHIFT_DAYS = 36_500


class RulesError(ValueError):
    """Rules that cannot be used: the message says which line or column, in one sentence."""


@dataclass(frozen=True)
class Rule:
    kind: str
    constant: Any = None


@dataclass(frozen=True)
class Rules:
    columns: Mapping[tuple[str, str], Rule] = field(default_factory=dict)
    strict: bool = True
    shift_days: int = 365

    def rule(self, table: str, column: str) -> Rule:
        return self.columns.get((table.lower(), column.lower()), Rule("keep"))

    def apply(self, table: str, column: str, value: Any, secret: bytes) -> Any:
        """The anonymized ``value`` of ``table.column`` under ``secret``; NULL stays NULL."""
        return transform(self.rule(table, column), value, secret, self.shift_days)

    def unused(self, schema: Mapping[str, Iterable[tuple[str, str | None]]]) -> list[str]:
        """Rules naming a column the schema does not have (a typo would anonymize nothing)."""
        present = {(t.lower(), c.lower()) for t, cols in schema.items() for c, _ in cols}
        return sorted(f"{t}.{c}" for t, c in self.columns if (t, c) not in present)


def parse_rules(text: str | bytes) -> Rules:
    """Rules from their YAML; RulesError on anything else (empty text is no rule, strict)."""
    if isinstance(text, bytes):
        if len(text) > MAX_RULES_BYTES:
            raise RulesError(f"the rules are over {MAX_RULES_BYTES} bytes")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RulesError(f"the rules are not UTF-8 text (byte {exc.start})") from None
    if len(text) > MAX_RULES_BYTES:
        raise RulesError(f"the rules are over {MAX_RULES_BYTES} bytes")
    if "\x00" in text:
        raise RulesError("the rules are not text (a NUL character)")
    try:
        data = yaml.safe_load(text)  # safe_load: no object tags, no code
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not YAML"
        raise RulesError(f"the rules are not valid YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesError("the rules must be a mapping with `columns` (table.column: rule)")
    unknown = sorted(set(map(str, data)) - {"strict", "shift_days", "columns"})
    if unknown:
        raise RulesError(
            f"unknown key(s) {', '.join(unknown)}; expected strict, shift_days, columns"
        )
    strict = data.get("strict", True)
    if not isinstance(strict, bool):
        raise RulesError("`strict` must be true or false")
    shift_days = data.get("shift_days", 365)
    if (
        not isinstance(shift_days, int)
        or isinstance(shift_days, bool)
        or not 0 <= shift_days <= _MAX_SHIFT_DAYS
    ):
        raise RulesError(f"`shift_days` must be a whole number of days from 0 to {_MAX_SHIFT_DAYS}")
    columns = data.get("columns") or {}
    if not isinstance(columns, dict):
        raise RulesError("`columns` must be a mapping of table.column to a rule")
    parsed: dict[tuple[str, str], Rule] = {}
    for key, value in columns.items():
        name = str(key)
        table, dot, column = name.partition(".")
        if not dot or not table or not column or "." in column:
            raise RulesError(f"{name!r}: a rule is named table.column")
        ident = (table.lower(), column.lower())
        if ident in parsed:
            raise RulesError(f"{name}: two rules for one column")
        parsed[ident] = _rule(name, value)
    return Rules(columns=parsed, strict=strict, shift_days=shift_days)


def _rule(name: str, value: Any) -> Rule:
    if value is None:  # YAML's bare null
        return Rule("null")
    if isinstance(value, dict):
        if set(value) != {"constant"}:
            raise RulesError(f"{name}: a mapping rule is {{constant: VALUE}}")
        constant = value["constant"]
        if isinstance(constant, dict | list):
            raise RulesError(f"{name}: a constant is a single value")
        return Rule("constant", constant)
    if not isinstance(value, str) or value not in KINDS or value == "constant":
        raise RulesError(
            f"{name}: unknown rule {value!r}; expected one of "
            f"{', '.join(k for k in KINDS if k != 'constant')} or {{constant: VALUE}}"
        )
    return Rule(value)


def unruled_columns(
    rules: Rules, schema: Mapping[str, Iterable[tuple[str, str | None]]]
) -> list[str]:
    """In strict mode, the text-like columns (``family`` text or unknown) without a rule, as
    ``table.column``; none when not strict. ``schema``: table -> [(column, family)]."""
    if not rules.strict:
        return []
    return sorted(
        f"{table}.{column}"
        for table, cols in schema.items()
        for column, family in cols
        if family not in _PLAIN_FAMILIES and (table.lower(), column.lower()) not in rules.columns
    )


# --- the transforms -------------------------------------------------------------------------


def transform(rule: Rule, value: Any, secret: bytes, shift_days: int = 365) -> Any:
    if value is None or rule.kind == "keep":
        return value
    if rule.kind == "null":
        return None
    if rule.kind == "constant":
        return rule.constant
    if rule.kind == "shift":
        return _shift(value, secret, shift_days)
    text = value.hex() if isinstance(value, bytes | bytearray | memoryview) else str(value)
    if rule.kind == "hash":
        digest = _mac(secret, "hash", text).hex()
        return digest[: max(8, min(len(text), len(digest)))]
    if rule.kind == "email":
        return _fake_email(text, secret)
    return _same_shape(text, secret, "name" if rule.kind == "name" else "text")


def _mac(secret: bytes, purpose: str, text: str) -> bytes:
    return hmac.new(
        secret, f"{purpose}\x00{text}".encode("utf-8", "surrogatepass"), "sha256"
    ).digest()


def _stream(secret: bytes, purpose: str, text: str, n: int) -> bytes:
    """``n`` pseudo-random bytes determined by (secret, purpose, text)."""
    out = bytearray()
    block = 0
    while len(out) < n:
        out += _mac(secret, f"{purpose}:{block}", text)
        block += 1
    return bytes(out[:n])


_LOWER, _UPPER, _DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits


def _same_shape(text: str, secret: bytes, purpose: str) -> str:
    """Each letter another letter of the same case, each digit another digit; everything else
    (spaces, punctuation, the @ of an address) kept: the same length and shape, no content."""
    stream = _stream(secret, purpose, text, len(text))
    out = []
    for ch, byte in zip(text, stream, strict=True):
        if ch.isdigit():
            out.append(_DIGITS[byte % 10])
        elif ch.isalpha():
            out.append((_UPPER if ch.isupper() else _LOWER)[byte % 26])
        else:
            out.append(ch)
    return "".join(out)


def _fake_email(text: str, secret: bytes) -> str:
    """An address of the same length: the local part and the domain's labels replaced, the
    top-level domain kept (so a column of addresses still looks like one)."""
    local, at, domain = text.rpartition("@")
    if not at:
        return _same_shape(text, secret, "email")
    labels = domain.split(".")
    head = ".".join(labels[:-1]) if len(labels) > 1 else domain
    tail = f".{labels[-1]}" if len(labels) > 1 else ""
    # Each part keyed by itself: one domain becomes one fake domain wherever it is.
    return (
        _same_shape(local, secret, "email-local")
        + "@"
        + _same_shape(head, secret, "email-domain")
        + tail
    )


def _shift(value: Any, secret: bytes, shift_days: int) -> Any:
    if shift_days == 0:
        return value
    offset = int.from_bytes(_mac(secret, "shift", "")[:8], "big") % (2 * shift_days + 1)
    delta = datetime.timedelta(days=offset - shift_days or shift_days)  # never 0
    if isinstance(value, datetime.datetime | datetime.date):
        try:
            return value + delta
        except OverflowError:
            return value - delta
    if isinstance(value, str):  # SQLite keeps dates as ISO text
        for kind in (datetime.date, datetime.datetime):  # a date alone first
            try:
                parsed = kind.fromisoformat(value)
            except ValueError:
                continue
            shifted = _shift(parsed, secret, shift_days)
            sep = "T" if "T" in value else " "
            return (
                shifted.isoformat(sep=sep)
                if isinstance(shifted, datetime.datetime)
                else shifted.isoformat()
            )
    raise RulesError(
        f"shift applies to dates and timestamps, not {type(value).__name__} {value!r:.40}"
    )
