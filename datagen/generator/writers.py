"""Writing a chunk: one file per (chunk, table), `<out_dir>/<table>/chunk_<id>.<format>`.

Files are written under a hidden temporary name in the same folder and renamed into place once
complete (and fsync'ed), so a writer killed at any moment never leaves a partial file under a
final name; a rerun of the chunk writes the same bytes again. Temporary names start with "." and
end in ".tmp": loaders globbing chunk_*.parquet never see them, remove_temporary_files() clears
those a killed writer left.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from .generate import ChunkData
from .spec import DICTIONARY_HINT

FORMATS = ("parquet", "csv")
PARQUET_OPTIONS = {"compression": "snappy", "write_statistics": True}


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    rows: int
    bytes: int


def chunk_path(out_dir: str | Path, table: str, chunk_id: int, format: str = "parquet") -> Path:
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    return Path(out_dir) / table / f"chunk_{chunk_id}.{format}"


def write_chunk(
    chunk_data: ChunkData,
    out_dir: str | Path,
    format: str = "parquet",
    *,
    tables: Iterable[str] | None = None,
    fsync: bool = True,
) -> list[WrittenFile]:
    """Every table of the chunk in the spec's order, or only `tables` (as LSST's generator
    could leave CcdVisit out of what is ingested). All temporary files are written before any
    is renamed, so a failure while writing leaves no file of this chunk under a final name."""
    if tables is None:
        chosen = chunk_data.tables
    else:
        wanted = set(tables)
        unknown = wanted - set(chunk_data.tables)
        if unknown:
            raise ValueError(f"no table {sorted(unknown)} in the chunk")
        chosen = {t: data for t, data in chunk_data.tables.items() if t in wanted}
    staged: list[tuple[Path, Path, int]] = []
    try:
        for table_name, table in chosen.items():
            final = chunk_path(out_dir, table_name, chunk_data.chunk_id, format)
            final.parent.mkdir(parents=True, exist_ok=True)
            temp = final.with_name(f".{final.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
            staged.append((temp, final, table.num_rows))
            write_table(table, temp, format)
            if fsync:
                _fsync(temp)
        written = []
        for temp, final, rows in staged:
            os.replace(temp, final)
            written.append(WrittenFile(final, rows, final.stat().st_size))
        if fsync:
            for folder in {final.parent for _, final, _ in staged}:
                _fsync_dir(folder)
        return written
    except BaseException:
        for temp, _, _ in staged:
            temp.unlink(missing_ok=True)
        raise


def write_table(table: pa.Table, path: str | Path, format: str = "parquet") -> None:
    """One table to one file, no renaming (write_chunk does that)."""
    if format == "parquet":
        # Dictionary encoding pays for columns with few distinct values (the spec marks them);
        # on random numbers it is a wasted first pass that makes writing four times slower.
        few = [f.name for f in table.schema if (f.metadata or {}).get(DICTIONARY_HINT) == b"1"]
        pq.write_table(table, str(path), use_dictionary=few, **PARQUET_OPTIONS)
    elif format == "csv":
        pcsv.write_csv(table, str(path), pcsv.WriteOptions(include_header=True))
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")


def read_table(path: str | Path, schema: pa.Schema | None = None) -> pa.Table:
    """A written file back as Arrow. CSV needs the schema to get the types back (floats as
    float32, decimals, ...) and to tell NULL (an empty field) from '' (a quoted empty field)."""
    path = Path(path)
    if path.suffix == ".parquet":
        return pq.read_table(path)
    convert = pcsv.ConvertOptions(
        column_types=schema,
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=[""],
        true_values=["true"],
        false_values=["false"],
    )
    read = pcsv.ReadOptions(block_size=1 << 24)
    parse = pcsv.ParseOptions(newlines_in_values=True)
    table = pcsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    return table.cast(schema) if schema is not None else table


def remove_temporary_files(out_dir: str | Path) -> list[Path]:
    """Delete what killed writers left behind (.chunk_*.tmp); returns the files removed."""
    removed = []
    for temp in Path(out_dir).glob("*/.chunk_*.tmp"):
        temp.unlink(missing_ok=True)
        removed.append(temp)
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Some filesystems refuse fsync on directories; the files themselves are synced.
    with contextlib.suppress(OSError):
        _fsync(path)
