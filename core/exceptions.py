"""Domain errors, mapped to HTTP in one place.

Services raise these with a sentence a person can act on; the API answers
{"error": code, "detail": sentence}, commands print the sentence as one line.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import OperationalError
from django.http import Http404

from core.secrets import scrub


class AssayError(Exception):
    """Base of the errors a user can fix: bad input, unknown names, refused operations."""

    code = "invalid"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code


class NotFound(AssayError):
    code = "not_found"
    status = 404


class Conflict(AssayError):
    code = "conflict"
    status = 409


class DatabaseBusy(AssayError):
    """The database stayed busy (another writer's lock) for the whole retry budget
    (core.db.retry_on_busy): 503 with Retry-After, nothing of the request written."""

    code = "database_busy"
    status = 503


class UploadTooLarge(AssayError):
    """A request or one of its files is over its limit (core.middleware: UploadLimitMiddleware,
    FileSizeLimitHandler): 413, the limit in the sentence."""

    code = "upload_too_large"
    status = 413


# SQLITE_BUSY ("database is locked") and SQLITE_LOCKED ("database table is locked").
_BUSY_MESSAGES = ("database is locked", "database table is locked")


def is_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked": another writer held the lock too long."""
    return isinstance(exc, DatabaseBusy) or (
        isinstance(exc, OperationalError) and any(m in str(exc) for m in _BUSY_MESSAGES)
    )


def retry_after_seconds() -> int:
    """What a 503 asks the client to wait: one retry budget, at least a second."""
    return max(1, math.ceil(settings.ASSAY_BUSY_RETRY_SECONDS))


def busy_detail() -> str:
    return (
        "The database is busy with another write; nothing of this request was written. "
        f"Try again in {retry_after_seconds()} s."
    )


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        parts = []
        for key, value in detail.items():
            msg = _first_message(value)
            plain = key in ("non_field_errors", "detail")
            parts.append(msg if plain else f"{key}: {msg}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return "; ".join(_first_message(item) for item in detail)
    return str(detail)


def api_exception_handler(exc, context):
    """One error shape for every API failure."""
    # DRF loads with the API, not with every model (core.models imports this module): a CI
    # job's import_results never needs it (a test of import_results).
    from rest_framework import exceptions as drf_exceptions
    from rest_framework.response import Response
    from rest_framework.views import exception_handler as drf_exception_handler

    if is_busy(exc):
        # Unretried writes too: a busy database is a 503 to try again, never a 500.
        return Response(
            {"error": DatabaseBusy.code, "detail": busy_detail()},
            status=DatabaseBusy.status,
            headers={"Retry-After": str(retry_after_seconds())},
        )
    if isinstance(exc, AssayError):
        # A service's sentence may quote what an engine said (its conninfo with it).
        return Response({"error": exc.code, "detail": scrub(exc.detail)}, status=exc.status)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied(str(exc) or None)  # core.roles.require's sentence
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = exc.get_codes() if isinstance(exc, drf_exceptions.APIException) else "error"
    if not isinstance(code, str):
        code = "invalid"
    response.data = {"error": code, "detail": _first_message(response.data)}
    return response
