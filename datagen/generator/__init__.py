"""Assay's data generator: declarative specs, chunked and deterministic generation, checksums,
Parquet and CSV writers. Pure Python with numpy and pyarrow; nothing here imports Django.
docs/datagen.md is the reference of the spec format."""

from .checksum import chunk_checksum, dataset_checksum, table_checksum
from .chunking import Box, ChunkSelectionError, IntegerChunker, SkyChunker, select_chunks
from .coltypes import ColumnType
from .errors import SpecError
from .generate import ChunkData, generate_chunk
from .run import ChunkPool, ChunkResult, run_chunk, run_chunks
from .spec import (
    ColumnSpec,
    RowsSpec,
    Spec,
    TableSpec,
    bundled_spec_names,
    load_bundled_spec,
    load_spec,
    loads_spec,
    parse_spec,
)
from .writers import FORMATS, WrittenFile, chunk_path, write_chunk

__all__ = [
    "FORMATS",
    "Box",
    "ChunkData",
    "ChunkPool",
    "ChunkSelectionError",
    "ChunkResult",
    "ColumnSpec",
    "ColumnType",
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
