"""core's Engine rows as the generator's load targets (core cannot import datagen)."""

from __future__ import annotations

from core.exceptions import AssayError
from core.models import Engine
from datagen.generator.loaders import Target


def target_for(engine: Engine) -> Target:
    """The loaders' Target for an engine; its password is read from the environment now."""
    if engine.kind == Engine.Kind.SQLITE:
        return Target.sqlite(engine.path)
    if engine.kind == Engine.Kind.DUCKDB:
        return Target.duckdb(engine.path)
    if engine.kind == Engine.Kind.POSTGRESQL:
        return Target.postgresql(engine.conninfo())
    raise AssayError(f"Engine {engine.name}: kind {engine.kind!r} cannot be loaded into.")
