"""Secrets never leave the server: the one scrubber of every error, log and page.

``scrub(text, known)`` is pure: it replaces each known secret value, then every secret-shaped
piece of text (``password=...``, ``'sslpassword': '...'``, a URL's ``user:password@``,
``Token <key>``), with ``***``. ``known_secrets()`` is what this server knows to be secret:
its own settings' secrets, every Engine row's passwords and password-like options, and the API
tokens. Where text is written (job errors: core.jobs; job logs: JobBase.log; the results that
datagen and querygen record) it goes through ``scrub``; pages and API answers scrub the error
fields they show again (a row written before the scrubber existed).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import TypeVar

from django.apps import apps
from django.conf import settings

log = logging.getLogger(__name__)

_T = TypeVar("_T")

MASK = "***"

# A value shorter than this is not masked wherever it appears (a password "test" would garble
# every test name); the shapes below still mask it next to its name.
MIN_KNOWN_LENGTH = 6

# Names whose values are secrets: password, sslpassword, PGPASSWORD, api_key, GITHUB_TOKEN,
# ASSAY_GATE_SECRET, aws_secret_access_key...
_NAME = (
    r"[A-Za-z0-9_]*(?:password|passwd|secret|token|api_?key|access_?key|private_?key)[A-Za-z0-9_]*"
)
NAME_RE = re.compile(rf"^{_NAME}$", re.IGNORECASE)

_QUOTED = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_SHAPES = [
    # conninfo, URL query, environment: name=value (a libpq value ends at a blank unless quoted)
    re.compile(rf"(?<![A-Za-z0-9_])(?P<name>{_NAME}=)(?P<value>{_QUOTED}|[^\s'\"]+)", re.I),
    # Python reprs and JSON: 'name': 'value' (or a number)
    re.compile(
        rf"(?P<name>(?P<q>['\"]){_NAME}(?P=q)\s*:\s*)(?P<value>{_QUOTED}|[^\s,}}\])]+)", re.I
    ),
    # a URL's user:password@
    re.compile(r"(?P<name>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)(?P<value>[^\s@/'\"]*)(?=@)"),
    # HTTP authorization: DRF's Token <40 hex>, Bearer <anything long>
    re.compile(r"(?P<name>\bToken\s+)(?P<value>[0-9a-fA-F]{40})\b"),
    re.compile(r"(?P<name>\bBearer\s+)(?P<value>[A-Za-z0-9._~+/=-]{16,})"),
]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def secrets_in(text: str) -> set[str]:
    """The secret values that ``text`` carries in a secret shape (a conninfo's password, a
    URL's): what scrubbing ``text`` would mask."""
    found = set()
    for shape in _SHAPES:
        for match in shape.finditer(text):
            value = _unquote(match["value"])
            if value and value != MASK:
                # a bare value runs to the next blank: "sslpassword=x: connection failed"
                found |= {value, value.rstrip(":,.;)")}
    return found


def _masked(match: re.Match) -> str:
    return f"{match['name']}{MASK}"


def _variants(value: str) -> Iterator[str]:
    """The forms a value takes in text: as is, URL-quoted, libpq-quoted, repr-escaped."""
    yield value
    yield urllib.parse.quote(value, safe="")
    yield urllib.parse.quote_plus(value)
    yield value.replace("\\", "\\\\").replace("'", "\\'")
    yield repr(value)[1:-1]


def scrub(text: str, known: Iterable[str] | None = None) -> str:
    """``text`` without secrets: each ``known`` value (None: ``known_secrets()``) and every
    secret-shaped piece of text replaced with ``***``."""
    if not text:
        return text
    if known is None:
        known = known_secrets()
    values = {v for value in known if value for v in _variants(str(value))}
    for value in sorted(values, key=len, reverse=True):  # a longer secret may hold a shorter
        if len(value) >= MIN_KNOWN_LENGTH:
            text = text.replace(value, MASK)
    for shape in _SHAPES:
        text = shape.sub(_masked, text)
    return text


def scrub_each(items: Iterable[_T], *fields: str) -> list[_T]:
    """Copies of the dataclass ``items`` with their text ``fields`` scrubbed (the known secrets
    read once): the results an app records, say."""
    known = known_secrets()
    return [
        dataclasses.replace(item, **{f: scrub(getattr(item, f), known) for f in fields})
        for item in items
    ]


def engine_secrets(password: str, fields: Iterable[str], options: dict[str, object]) -> set[str]:
    """The secrets of a database endpoint: its password, its options named like secrets, and
    whatever secret a field or another option carries (a DSN in ``database``)."""
    found = {password} if password else set()
    for name, value in options.items():
        if NAME_RE.match(str(name)):
            found.add(str(value))
        else:
            found.update(secrets_in(str(value)))
    for value in fields:
        found.update(secrets_in(str(value or "")))
    return found


# The last set read from the database: used when it cannot be read (a failing job's broken
# transaction, a busy database) rather than showing a secret.
_last_rows: set[str] = set()


def known_secrets() -> set[str]:
    """Every value this server knows to be secret: SECRET_KEY and the other secret settings,
    the passwords of DATABASE_URL and of the Redis broker, every Engine row's secrets
    (engine_secrets, its password read from the environment) and every API token."""
    global _last_rows
    found = {
        settings.SECRET_KEY,
        *getattr(settings, "SECRET_KEY_FALLBACKS", []),
        getattr(settings, "EMAIL_HOST_PASSWORD", ""),
        getattr(settings, "ASSAY_GATE_SECRET", ""),
        *(db.get("PASSWORD") or "" for db in settings.DATABASES.values()),
        *secrets_in(getattr(settings, "DATABASE_URL", "")),
        *secrets_in(str(getattr(settings, "Q_CLUSTER", {}).get("redis", ""))),
    }
    try:
        rows: set[str] = set()
        for engine in apps.get_model("core", "Engine").objects.all():
            password = os.environ.get(engine.password_env, "") if engine.password_env else ""
            fields = (engine.host, engine.database, engine.user, engine.path)
            rows |= engine_secrets(password, fields, engine.options or {})
        if apps.is_installed("rest_framework.authtoken"):
            token = apps.get_model("authtoken", "Token")
            rows.update(token.objects.values_list("key", flat=True))
        _last_rows = rows
    except Exception:  # never fail the write that asked, nor show what we could not read
        log.warning("could not read the engines' and tokens' secrets", exc_info=True)
        rows = _last_rows
    return {value for value in found | rows if value}
