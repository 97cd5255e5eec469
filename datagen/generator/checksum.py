"""Checksums of tables, chunks and datasets, over the data rather than over any file format.

table checksum    sha256 of: b"assay-datagen-table-v1\\n", then length-prefixed parts (8-byte
                  little-endian length, then the bytes): b"rows=<n>", and for each column in
                  schema order its name (UTF-8), its type token (int32, float64, decimal(18,4),
                  string, date, timestamp[us] ...), its validity (b"-" when it has no nulls, else
                  b"V" + the validity bits packed little-endian) and its values:
                  fixed-width types as their little-endian bytes with null slots zeroed
                  (decimal128 as 16 bytes, date as int32 days, timestamp as int64), bool as bits
                  packed little-endian (nulls as 0), strings as their int64 byte lengths followed
                  by their UTF-8 bytes (nulls as "").
chunk checksum    sha256 of b"assay-datagen-chunk-v1\\n" + "<table>\\t<table checksum>\\n" for
                  every table, sorted by name.
dataset checksum  sha256 of b"assay-datagen-dataset-v1\\n" + "<chunk id>\\t<chunk checksum>\\n"
                  for every chunk, sorted by chunk id: independent of the order chunks finished.

Reading a chunk's Parquet files back and checksumming them gives the chunk's checksum again, so
files can be verified without regenerating anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.types as pat


def type_token(arrow_type: pa.DataType) -> str:
    if pat.is_dictionary(arrow_type):
        return type_token(arrow_type.value_type)
    if pat.is_string(arrow_type) or pat.is_large_string(arrow_type):
        return "string"
    if pat.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pat.is_date32(arrow_type):
        return "date"
    return {pa.float32(): "float32", pa.float64(): "float64", pa.bool_(): "bool"}.get(
        arrow_type, str(arrow_type)
    )


def _part(digest: Any, data: bytes | memoryview | pa.Buffer) -> None:
    view = memoryview(data)
    digest.update(view.nbytes.to_bytes(8, "little"))
    digest.update(view)


def _validity(array: pa.Array) -> np.ndarray:
    return array.is_valid().to_numpy(zero_copy_only=False)


def _column(digest: Any, array: pa.Array) -> None:
    if pat.is_dictionary(array.type):
        array = array.dictionary_decode()
    n = len(array)
    valid = _validity(array) if array.null_count else None
    _part(digest, b"-" if valid is None else b"V" + np.packbits(valid, bitorder="little").tobytes())
    kind = array.type
    if pat.is_string(kind) or pat.is_large_string(kind):
        if valid is not None:
            array = array.fill_null("")
        offset_type = np.int64 if pat.is_large_string(kind) else np.int32
        offsets = np.frombuffer(array.buffers()[1], dtype=offset_type)[
            array.offset : array.offset + n + 1
        ]
        _part(digest, np.diff(offsets).astype(np.int64).tobytes())
        data = array.buffers()[2]
        _part(digest, b"" if data is None else memoryview(data)[offsets[0] : offsets[-1]])
        return
    if pat.is_boolean(kind):
        bits = array.fill_null(False).to_numpy(zero_copy_only=False)
        _part(digest, np.packbits(bits, bitorder="little").tobytes())
        return
    width = kind.bit_width // 8
    data = memoryview(array.buffers()[1])[array.offset * width : (array.offset + n) * width]
    if valid is None:
        _part(digest, data)
        return
    rows = np.frombuffer(data, dtype=np.uint8).reshape(n, width).copy()
    rows[~valid] = 0
    _part(digest, rows.tobytes())


def table_checksum(table: pa.Table) -> str:
    digest = hashlib.sha256(b"assay-datagen-table-v1\n")
    _part(digest, f"rows={table.num_rows}".encode())
    for field, column in zip(table.schema, table.columns, strict=True):
        _part(digest, field.name.encode("utf-8"))
        _part(digest, type_token(field.type).encode())
        array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
        _column(digest, array)
    return digest.hexdigest()


def combine_table_checksums(checksums: Mapping[str, str]) -> str:
    text = "".join(f"{name}\t{checksums[name]}\n" for name in sorted(checksums))
    return hashlib.sha256(b"assay-datagen-chunk-v1\n" + text.encode("utf-8")).hexdigest()


def chunk_checksum(tables: Mapping[str, pa.Table]) -> str:
    return combine_table_checksums({name: table_checksum(t) for name, t in tables.items()})


def dataset_checksum(chunks: Iterable[tuple[int, str]] | Mapping[int, str]) -> str:
    """Over (chunk id, chunk checksum) pairs in any order; the same chunk given twice with the
    same checksum counts once (a chunk delivered twice), with two checksums is an error."""
    pairs = chunks.items() if isinstance(chunks, Mapping) else chunks
    by_id: dict[int, str] = {}
    for chunk_id, checksum in pairs:
        if by_id.setdefault(int(chunk_id), checksum) != checksum:
            raise ValueError(f"chunk {chunk_id} has two checksums: {by_id[chunk_id]}, {checksum}")
    text = "".join(f"{chunk_id}\t{by_id[chunk_id]}\n" for chunk_id in sorted(by_id))
    return hashlib.sha256(b"assay-datagen-dataset-v1\n" + text.encode()).hexdigest()
