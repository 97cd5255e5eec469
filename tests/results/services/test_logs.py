"""results/services/logs.py: a log stored cut past its limit, and read back in chunks."""

from __future__ import annotations

import pytest

from results.services.logs import CHUNK_BYTES, clip_log, log_chunks


def test_a_log_within_the_limit_is_kept_whole_with_its_size():
    assert clip_log("abc", limit=3) == ("abc", 3)
    assert clip_log("é", limit=2) == ("é", 2)  # bytes of UTF-8, not characters
    assert clip_log("", limit=10) == ("", 0)


@pytest.mark.parametrize("text", ["x" * 5000, "€" * 5000, "a€" * 3000])
def test_a_longer_log_keeps_its_head_and_tail_and_counts_what_was_cut(text):
    log = "HEAD\n" + text + "\nTAIL"
    size = len(log.encode())
    stored, full = clip_log(log, limit=1024)
    assert full == size
    assert stored.startswith("HEAD\n") and stored.endswith("\nTAIL")
    head, note, tail = stored.split("\n[...", 1)[0], *stored.split("\n[...", 1)[1].split("]\n", 1)
    kept = len(head.encode()) + len(tail.encode())
    assert kept <= 1024  # a character split by the cut is left out, never half kept
    assert note.startswith(f" {size - kept} bytes cut: this log had {size} bytes")


def test_chunks_are_the_log_in_utf8():
    log = "€" * CHUNK_BYTES
    chunks = list(log_chunks(log))
    assert len(chunks) == 3 and b"".join(chunks) == log.encode()
