"""Looking up the Engine rows every app names (datagen loads them, querygen queries them)."""

from __future__ import annotations

from core.exceptions import AssayError
from core.models import Engine


def get_engine(name: str, role: str = "") -> Engine:
    """The engine of that name; AssayError naming the configured ones otherwise. ``role`` says
    what it was wanted for ("reference", "system under test") in the message."""
    try:
        return Engine.objects.get(name=name)
    except Engine.DoesNotExist:
        names = list(Engine.objects.values_list("name", flat=True)[:20])
        known = ", ".join(names) if names else "none (add one in the admin)"
        wanted = f" for the {role}" if role else ""
        raise AssayError(
            f"No engine named {name!r}{wanted}; configured engines: {known}.",
            code="engine_not_found",
        ) from None
