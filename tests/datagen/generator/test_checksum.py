"""Checksums: over the data, canonical, and for datasets independent of completion order."""

from __future__ import annotations

import itertools
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from datagen.generator import chunk_checksum, dataset_checksum, table_checksum
from datagen.generator.seeds import stable_hash


def _table(**columns: pa.Array) -> pa.Table:
    return pa.table(columns)


def test_dataset_checksum_does_not_depend_on_completion_order() -> None:
    pairs = [(c, f"{c:064x}") for c in (0, 5, 12, 3)]
    checksums = {dataset_checksum(list(p)) for p in itertools.permutations(pairs)}
    assert len(checksums) == 1
    assert dataset_checksum(dict(pairs)) in checksums
    # A chunk delivered twice with the same result counts once; with another, it is an error.
    assert dataset_checksum([*pairs, pairs[0]]) in checksums
    with pytest.raises(ValueError, match="two checksums"):
        dataset_checksum([*pairs, (0, "f" * 64)])
    assert dataset_checksum(pairs[:3]) not in checksums


def test_table_checksum_sees_every_value_and_null() -> None:
    base = _table(a=pa.array([1, 2, 3]), s=pa.array(["x", "", None]))
    same = _table(a=pa.array([1, 2, 3]), s=pa.array(["x", "", None]))
    assert table_checksum(base) == table_checksum(same)
    variants = [
        _table(a=pa.array([1, 2, 4]), s=pa.array(["x", "", None])),
        _table(a=pa.array([1, 2, 3]), s=pa.array(["x", None, None])),  # '' vs NULL
        _table(a=pa.array([1, 2, 3]), s=pa.array(["x", "", ""])),
        _table(b=pa.array([1, 2, 3]), s=pa.array(["x", "", None])),  # column name
        _table(a=pa.array([1, 2, 3], pa.int32()), s=pa.array(["x", "", None])),  # type
        _table(a=pa.array([1, 2]), s=pa.array(["x", ""])),
        _table(a=pa.array([1, 2, 3]), s=pa.array(["x", "", None]), t=pa.array([1, 1, 1])),
    ]
    digests = {table_checksum(t) for t in variants}
    assert len(digests) == len(variants) and table_checksum(base) not in digests


def test_table_checksum_ignores_layout_and_hidden_bytes() -> None:
    values = pa.array([1.5, float("nan"), -0.0, None, 7.0])
    contiguous = pa.table({"x": values})
    chunked = pa.Table.from_batches(
        [pa.record_batch({"x": values.slice(0, 2)}), pa.record_batch({"x": values.slice(2)})]
    )
    assert table_checksum(contiguous) == table_checksum(chunked)
    # What lies in a null slot's bytes is not data.
    data = np.array([1, 2, 3], dtype=np.int64)
    other = np.array([1, 99, 3], dtype=np.int64)
    validity = pa.py_buffer(np.packbits(np.array([True, False, True]), bitorder="little"))
    a = pa.Array.from_buffers(pa.int64(), 3, [validity, pa.py_buffer(data)], null_count=1)
    b = pa.Array.from_buffers(pa.int64(), 3, [validity, pa.py_buffer(other)], null_count=1)
    assert table_checksum(pa.table({"x": a})) == table_checksum(pa.table({"x": b}))
    # A sliced string array hashes like a fresh one.
    strings = pa.array(["skip", "a", None, "ü"])
    assert table_checksum(pa.table({"s": strings.slice(1)})) == table_checksum(
        pa.table({"s": pa.array(["a", None, "ü"])})
    )
    # -0.0 and 0.0 differ, as their bytes do.
    assert table_checksum(pa.table({"x": pa.array([0.0])})) != table_checksum(
        pa.table({"x": pa.array([-0.0])})
    )


def test_every_type_checksums() -> None:
    import datetime as dt

    table = pa.table(
        {
            "b": pa.array([True, None, False]),
            "d": pa.array([dt.date(1, 1, 1), None, dt.date(9999, 12, 31)]),
            "t": pa.array([dt.datetime(1970, 1, 1), None, dt.datetime(2000, 1, 1)]),
            "m": pa.array([Decimal("1.50"), None, Decimal("-2.25")], pa.decimal128(5, 2)),
            "f": pa.array([1.0, None, float("inf")], pa.float32()),
        }
    )
    assert len(table_checksum(table)) == 64
    dictionary = pa.table({"s": pa.array(["a", "b", "a"]).dictionary_encode()})
    assert table_checksum(dictionary) == table_checksum(pa.table({"s": pa.array(["a", "b", "a"])}))


def test_chunk_checksum_is_over_sorted_table_names() -> None:
    t1, t2 = _table(a=pa.array([1])), _table(a=pa.array([2]))
    assert chunk_checksum({"A": t1, "B": t2}) == chunk_checksum({"B": t2, "A": t1})
    assert chunk_checksum({"A": t1, "B": t2}) != chunk_checksum({"A": t2, "B": t1})


def test_stable_hash_is_stable() -> None:
    # The first 8 bytes of sha256("Object"), little-endian: the same in every process.
    assert stable_hash("Object") == int.from_bytes(bytes.fromhex("62a6da8735c18e2d"), "little")
    assert stable_hash("Object") == 3282773614056351330
    assert stable_hash("a") != stable_hash("b")
    assert 0 <= stable_hash("x") < 2**64
