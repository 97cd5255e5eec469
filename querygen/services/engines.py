"""core's Engine rows as querygen engines (core cannot import querygen)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from django.conf import settings

from core.exceptions import AssayError
from core.models import Engine
from querygen.engine import engines as qe
from querygen.engine import worker
from querygen.engine.releases import release_name

# The kinds that run in the client's process on a database file: the ones querygen's worker
# serves, so a private build's interpreter can run them.
EMBEDDED = worker.KINDS


def check_python(python: str, engine: Engine) -> str:
    """A private build's interpreter: an absolute path to an executable file, allowed by
    ASSAY_QUERYGEN_PYTHONS when that is set; only for SQLite and DuckDB files."""
    python = python.strip()
    if not python:
        return ""
    if engine.kind not in EMBEDDED:
        raise AssayError(
            f"A private build's interpreter runs an embedded engine (SQLite or DuckDB); "
            f"{engine.name} is {engine.get_kind_display()}.",
            code="bad_python",
        )
    path = Path(python)
    if not path.is_absolute():
        raise AssayError(f"The interpreter {python!r} is not an absolute path.", code="bad_python")
    if not path.is_file() or not os.access(path, os.X_OK):
        raise AssayError(f"The interpreter {python} is not an executable file.", code="bad_python")
    allowed = settings.ASSAY_QUERYGEN_PYTHONS
    if allowed and python not in allowed:
        raise AssayError(
            f"The interpreter {python} is not among ASSAY_QUERYGEN_PYTHONS.", code="bad_python"
        )
    return python


def open_engine(engine: Engine, python: str = "", *, memory: bool = False) -> qe.EngineClient:
    """An open querygen engine for the row (read-only); EngineError when it cannot open.
    ``memory``: an embedded engine on a database of its own in memory, not on the row's file
    (querygen's generated databases)."""
    path = worker.MEMORY if memory and engine.kind in EMBEDDED else engine.path
    if python:
        check_python(python, engine)  # again: the allow-list may have changed since submission
        return qe.IsolatedClient(python, engine.kind, path, name=f"{engine.name}@{python}")
    if engine.kind == Engine.Kind.SQLITE:
        return qe.SQLiteClient(path, name=engine.name)
    if engine.kind == Engine.Kind.DUCKDB:
        return qe.DuckDBClient(path, name=engine.name)
    if engine.kind == Engine.Kind.POSTGRESQL:
        return qe.PostgresClient(engine.conninfo(), name=engine.name)
    raise AssayError(f"Engine {engine.name}: kind {engine.kind!r} cannot be queried.")


@contextmanager
def opened(
    sut: Engine, reference: Engine | None, python: str = "", *, memory: bool = False
) -> Iterator[tuple[qe.EngineClient, qe.EngineClient | None]]:
    """Both engines of a run, closed on the way out."""
    with ExitStack() as stack:
        s = open_engine(sut, python, memory=memory)
        stack.callback(s.close)
        r = None
        if reference is not None:
            r = open_engine(reference, memory=memory)
            stack.callback(r.close)
        yield s, r


@contextmanager
def opened_ladder(
    engine: Engine, pythons: list[str]
) -> Iterator[list[tuple[str, qe.EngineClient]]]:
    """A run's ladder of releases, oldest first: (release name, engine on a database of its
    own in memory) per interpreter, closed on the way out."""
    with ExitStack() as stack:
        ladder = []
        for python in pythons:
            check_python(python, engine)  # again: the allow-list may have changed
            e = qe.IsolatedClient(
                python, engine.kind, worker.MEMORY, name=f"{engine.name}@{python}"
            )
            stack.callback(e.close)
            ladder.append((release_name(e.version()), e))
        yield ladder
