"""Where every random value comes from: a stream per (run seed, chunk, table, column)."""

from __future__ import annotations

import functools
import hashlib

import numpy as np

# Streams of one column: the values themselves, then the masks that replace some of them. Each
# has its own stream so that adding a null fraction, say, leaves the other values as they were.
VALUES, NULLS, SPECIALS, DUPLICATES = 0, 1, 2, 3
# Row counts drawn at random (Poisson, density) use this pseudo-column; spec column names cannot
# start with "__", so it never meets a real column.
ROWS_COLUMN = "__rows__"


@functools.lru_cache(maxsize=4096)
def stable_hash(text: str) -> int:
    """64 bits of sha256: the same in every process (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def column_rng(
    run_seed: int, chunk_id: int, table: str, column: str, stream: int = VALUES
) -> np.random.Generator:
    entropy = [run_seed, chunk_id, stable_hash(table), stable_hash(column)]
    if stream == VALUES:
        sequence = np.random.SeedSequence(entropy)
    else:
        sequence = np.random.SeedSequence(entropy, spawn_key=(stream,))
    return np.random.Generator(np.random.PCG64(sequence))
