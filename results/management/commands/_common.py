"""Shared by the results commands: one-line errors instead of tracebacks, and the progress bar
a service's `progress(done, total, message)` callback feeds."""

from __future__ import annotations

import contextlib

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import AssayError


@contextlib.contextmanager
def one_line_errors():
    try:
        yield
    except AssayError as exc:
        raise CommandError(exc.detail) from None


class ProgressBar:
    """A bar on the command's stderr, passed as a service's `progress`: the total when the
    service gives one, the count done and what is being done."""

    def __init__(self, command: BaseCommand, unit: str, *, disable: bool) -> None:
        from tqdm import tqdm  # when used: a tenth of a small command's start-up otherwise

        self._bar = tqdm(unit=unit, disable=disable, file=command.stderr._out)

    def __call__(self, done: int, total: int | None, message: str) -> None:
        if total is not None:
            self._bar.total = total
        self._bar.n = done
        self._bar.set_description(message)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()
