"""What Assay knows about each kind of database it talks to: one module per kind.

``get("duckdb")`` is the module ``dbkinds.duckdb``. Each kind module defines the names of
``base.INTERFACE``: how to connect (read-only or read-write), describe a location without its
secrets, quote an identifier, name column types and read them back (``base.NeutralType``), list
the user tables and their columns (leaving out datagen's ledger, ``LEDGER_TABLE``), and classify
a driver's errors (``ErrorKind``). Adding a kind is adding its module here, and its tests.

Pure and light on purpose: querygen's worker imports this package under another interpreter
that may have only the standard library and one driver. So no module here imports anything
but the standard library until a function needs its driver, and the syntax is Python 3.8's.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from dbkinds.base import LEDGER_TABLE, Column, ErrorKind, NeutralType

__all__ = ["KINDS", "LEDGER_TABLE", "Column", "ErrorKind", "NeutralType", "get"]

KINDS = tuple(
    sorted(
        m.name
        for m in pkgutil.iter_modules(__path__)
        if m.name != "base" and not m.name.startswith("_")
    )
)
"""Every kind: the modules of this package but base."""


def get(kind: str) -> ModuleType:
    """The module of ``kind``; ValueError for a kind there is no module for."""
    if kind not in KINDS:
        raise ValueError(f"unknown database kind {kind!r}; expected one of {KINDS}")
    return importlib.import_module(f"{__name__}.{kind}")
