"""What `make run` starts on a first start: DuckDB (system under test) against SQLite
(reference) on datagen's `querygen` dataset (datagen.services.demo builds both), as a pair the
schedule runs again and again, so the dashboard fills with findings as they come."""

from __future__ import annotations

from core.models import Engine
from querygen.models import Pair

DEMO_PAIR = "duckdb-vs-sqlite"


def ensure_demo_pair() -> Pair | None:
    """The demo pair (created once; an admin's later edits are kept); None without the demo
    engines (`manage.py datagen demo` makes them)."""
    engines = {
        e.name: e for e in Engine.objects.filter(name__in=["querygen-duckdb", "querygen-sqlite"])
    }
    if len(engines) < 2:
        return None
    pair, _ = Pair.objects.get_or_create(
        name=DEMO_PAIR,
        defaults={
            "sut": engines["querygen-duckdb"],
            "reference": engines["querygen-sqlite"],
            # A 15-minute run every 20 minutes: continuous, with a report (and a results run)
            # three times an hour; each run under django-q's task timeout (ASSAY_Q_TIMEOUT).
            "every_minutes": 20,
            "budget_seconds": 15 * 60,
            "timeout": 1.0,
            # Cheap queries over key ranges: about ten times the queries of the default profile.
            "profile": {"name": "fast"},
            "description": "The demo: DuckDB against SQLite on datagen's querygen dataset.",
        },
    )
    return pair
