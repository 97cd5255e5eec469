"""The gate's runner: plain Python, no Django (tests/test_architecture.py)."""

from collections.abc import Callable

# One line of what is being done (core.progress.Say, which this package may not import).
Say = Callable[[str], None]
