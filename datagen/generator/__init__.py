"""Assay's data generator: declarative specs, chunked and deterministic generation, checksums,
Parquet and CSV writers. Pure Python with numpy and pyarrow; nothing here imports Django.
docs/datagen.md is the reference of the spec format."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each name is loaded from its module on first use (PEP 562): numpy, pyarrow and duckdb take
# a second to import, and the site's start-up (admin, tasks, URLs) must not pay for them when
# a CI job imports one file of results (a test of import_results).
_EXPORTS = {
    "Box": "chunking",
    "ChunkData": "generate",
    "ChunkPool": "run",
    "ChunkResult": "run",
    "ChunkSelectionError": "errors",
    "ColumnSpec": "spec",
    "ColumnType": "coltypes",
    "FORMATS": "writers",
    "IntegerChunker": "chunking",
    "RowsSpec": "spec",
    "SkyChunker": "chunking",
    "Spec": "spec",
    "SpecError": "errors",
    "TableSpec": "spec",
    "WrittenFile": "writers",
    "bundled_spec_names": "errors",
    "chunk_checksum": "checksum",
    "chunk_path": "writers",
    "dataset_checksum": "checksum",
    "generate_chunk": "generate",
    "load_bundled_spec": "spec",
    "load_spec": "spec",
    "loads_spec": "spec",
    "parse_spec": "spec",
    "run_chunk": "run",
    "run_chunks": "run",
    "select_chunks": "chunking",
    "table_checksum": "checksum",
    "write_chunk": "writers",
}
__all__ = [
    "Box",
    "ChunkData",
    "ChunkPool",
    "ChunkResult",
    "ChunkSelectionError",
    "ColumnSpec",
    "ColumnType",
    "FORMATS",
    "IntegerChunker",
    "RowsSpec",
    "SkyChunker",
    "Spec",
    "SpecError",
    "TableSpec",
    "WrittenFile",
    "bundled_spec_names",
    "chunk_checksum",
    "chunk_path",
    "dataset_checksum",
    "generate_chunk",
    "load_bundled_spec",
    "load_spec",
    "loads_spec",
    "parse_spec",
    "run_chunk",
    "run_chunks",
    "select_chunks",
    "table_checksum",
    "write_chunk",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .checksum import chunk_checksum, dataset_checksum, table_checksum
    from .chunking import Box, IntegerChunker, SkyChunker, select_chunks
    from .coltypes import ColumnType
    from .errors import ChunkSelectionError, SpecError, bundled_spec_names
    from .generate import ChunkData, generate_chunk
    from .run import ChunkPool, ChunkResult, run_chunk, run_chunks
    from .spec import (
        ColumnSpec,
        RowsSpec,
        Spec,
        TableSpec,
        load_bundled_spec,
        load_spec,
        loads_spec,
        parse_spec,
    )
    from .writers import FORMATS, WrittenFile, chunk_path, write_chunk
