"""How a service reports progress to the command or job that runs it (plain Python: the pure
packages use it too)."""

from __future__ import annotations

from collections.abc import Callable

# (done, total or None when unknown, what is being done): a command draws a bar from it.
Progress = Callable[[int, int | None, str], None]
# One line of what is being done: a command prints it, a job appends it to its log.
Say = Callable[[str], None]
