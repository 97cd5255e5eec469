"""Shared by the results commands: one-line errors instead of tracebacks."""

from __future__ import annotations

import contextlib

from django.core.management.base import CommandError

from core.exceptions import AssayError


@contextlib.contextmanager
def one_line_errors():
    try:
        yield
    except AssayError as exc:
        raise CommandError(exc.detail) from None
