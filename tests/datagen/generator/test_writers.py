"""Writers: Parquet and CSV read back to the same data; a failing write leaves no final file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.generator import (
    generate_chunk,
    load_bundled_spec,
    table_checksum,
    write_chunk,
    writers,
)
from datagen.generator.generate import ChunkData
from datagen.generator.writers import read_table, remove_temporary_files


@pytest.fixture(scope="module")
def querygen_chunk():
    spec = load_bundled_spec("querygen")
    return spec, generate_chunk(spec, 1, 5)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_written_files_read_back_to_the_same_data(tmp_path: Path, querygen_chunk, fmt) -> None:
    spec, data = querygen_chunk
    files = write_chunk(data, tmp_path, fmt)
    assert [f.path for f in files] == [tmp_path / table / f"chunk_1.{fmt}" for table in spec.tables]
    for written in files:
        table = written.path.parent.name
        assert written.rows == data.rows[table]
        assert written.bytes == written.path.stat().st_size > 0
        back = read_table(written.path, spec.tables[table].arrow_schema)
        assert back.schema.names == data.tables[table].schema.names
        assert [f.type for f in back.schema] == [f.type for f in data.tables[table].schema]
        # The checksum is over the data: equal means every value, NULL and NaN came back.
        assert table_checksum(back) == data.table_checksums[table], (fmt, table)


def test_parquet_keeps_types_without_a_schema_and_equal_values(tmp_path: Path) -> None:
    spec = load_bundled_spec("fakedb")
    data = generate_chunk(spec, spec.chunk_ids()[4000], 5)
    for written in write_chunk(data, tmp_path):
        table = written.path.parent.name
        back = pq.read_table(written.path)
        assert back.equals(data.tables[table])
        assert back.schema.equals(spec.tables[table].arrow_schema)  # NOT NULL kept too


def test_rewriting_a_chunk_writes_the_same_bytes(tmp_path: Path, querygen_chunk) -> None:
    _, data = querygen_chunk
    first = {f.path: f.path.read_bytes() for f in write_chunk(data, tmp_path / "a")}
    second = write_chunk(data, tmp_path / "a")
    assert {f.path: f.path.read_bytes() for f in second} == first


def _broken_chunk(data: ChunkData) -> ChunkData:
    """The chunk plus a table no CSV writer can write (a list column), after the good ones."""
    tables = dict(data.tables)
    tables["zbroken"] = pa.table({"x": pa.array([[1, 2], [3]])})
    return ChunkData(data.chunk_id, tables, data.rows, data.checksum, data.table_checksums)


def test_a_failing_table_leaves_no_file_of_the_chunk(tmp_path: Path, querygen_chunk) -> None:
    _, data = querygen_chunk
    with pytest.raises(pa.ArrowException):
        write_chunk(_broken_chunk(data), tmp_path, "csv")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_write_dying_half_way_leaves_the_old_file_whole(
    tmp_path: Path, querygen_chunk, monkeypatch
) -> None:
    _, data = querygen_chunk
    before = {f.path: f.path.read_bytes() for f in write_chunk(data, tmp_path)}
    real_write = writers.write_table
    calls = []

    def dies_half_way(table: pa.Table, path, format: str = "parquet") -> None:
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b"PAR1 half a file")
            raise OSError("disk unplugged")
        real_write(table, path, format)

    monkeypatch.setattr(writers, "write_table", dies_half_way)
    with pytest.raises(OSError, match="disk unplugged"):
        write_chunk(data, tmp_path)
    # Nothing renamed (temporaries all go first), nothing left behind, old files intact.
    assert {p: p.read_bytes() for p in before} == before
    assert not list(tmp_path.rglob(".*.tmp"))


def test_temporary_names_are_hidden_and_can_be_cleared(tmp_path: Path) -> None:
    folder = tmp_path / "T"
    folder.mkdir()
    leftover = folder / ".chunk_3.parquet.123-abcd.tmp"
    leftover.write_bytes(b"half")
    assert list(tmp_path.glob("*/chunk_*.parquet")) == []
    assert remove_temporary_files(tmp_path) == [leftover]
    assert not leftover.exists()


def test_unknown_format(tmp_path: Path, querygen_chunk) -> None:
    _, data = querygen_chunk
    with pytest.raises(ValueError, match="parquet, csv"):
        write_chunk(data, tmp_path, "orc")


def test_writing_some_tables_only(tmp_path: Path, querygen_chunk) -> None:
    _, data = querygen_chunk
    files = write_chunk(data, tmp_path, tables=["facts", "numbers"])
    assert [f.path.parent.name for f in files] == ["numbers", "facts"]  # the spec's order
    assert sorted(p.name for p in tmp_path.iterdir()) == ["facts", "numbers"]
    with pytest.raises(ValueError, match="no table"):
        write_chunk(data, tmp_path, tables=["fact"])
