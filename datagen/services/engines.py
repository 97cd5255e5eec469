"""core's Engine rows as the generator's load targets (core cannot import datagen)."""

from __future__ import annotations

import dbkinds
from core.exceptions import AssayError
from core.models import Engine
from datagen.generator.targets import KINDS, Target


def target_for(engine: Engine) -> Target:
    """The loaders' Target for an engine; its password is read from the environment now."""
    if engine.kind not in KINDS:
        raise AssayError(f"Engine {engine.name}: kind {engine.kind!r} cannot be loaded into.")
    # A file engine's location is its path; a server's, its conninfo (password included).
    location = engine.path if dbkinds.get(engine.kind).EMBEDDED else engine.conninfo()
    return Target(str(engine.kind), location)  # str: a plain kind, not the model's choice
