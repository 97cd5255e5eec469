"""Assay's data generator: declarative specs, chunked and deterministic generation, checksums,
Parquet and CSV writers. Pure Python with numpy and pyarrow; nothing here imports Django.
docs/datagen.md is the reference of the spec format."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

# Each name is loaded from its module on first use (PEP 562, by lazy_loader): numpy, pyarrow
# and duckdb take a second to import, and the site's start-up (admin, tasks, URLs) must not pay
# for them when a CI job imports one file of results (a test of import_results).
__getattr__, __dir__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "checksum": ["chunk_checksum", "dataset_checksum", "table_checksum"],
        "chunking": ["Box", "IntegerChunker", "SkyChunker", "select_chunks"],
        "coltypes": ["ColumnType"],
        "errors": ["ChunkSelectionError", "SpecError", "bundled_spec_names"],
        "generate": ["ChunkData", "generate_chunk"],
        "run": ["ChunkPool", "ChunkResult", "run_chunk", "run_chunks"],
        "spec": [
            "ColumnSpec",
            "RowsSpec",
            "Spec",
            "TableSpec",
            "load_bundled_spec",
            "load_spec",
            "loads_spec",
            "parse_spec",
        ],
        "writers": ["FORMATS", "WrittenFile", "chunk_path", "write_chunk"],
    },
)[:2]
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
