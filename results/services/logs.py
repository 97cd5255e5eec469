"""A result's log as stored: cut past ASSAY_MAX_LOG_BYTES, its head and tail kept, and read
back in chunks for a download."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings

CHUNK_BYTES = 64 * 1024


def clip_log(log: str, limit: int | None = None) -> tuple[str, int]:
    """(the log as stored, its full size in bytes of UTF-8). Past `limit` (ASSAY_MAX_LOG_BYTES)
    the stored log is its first and last halves of the limit with a note line between saying
    how much was cut: the start says what ran, the end how it failed."""
    if not log:  # most results: a pass prints nothing
        return "", 0
    limit = settings.ASSAY_MAX_LOG_BYTES if limit is None else limit
    if log.isascii():
        size = len(log)
        if size <= limit:
            return log, size
        data = log.encode()
    else:
        data = log.encode("utf-8", "surrogatepass")
        size = len(data)
        if size <= limit:
            return log, size
    half = limit // 2
    # "ignore" drops a character split by the cut; the note counts every byte left out.
    head = data[:half].decode("utf-8", "ignore")
    tail = data[size - half :].decode("utf-8", "ignore")
    kept = len(head.encode()) + len(tail.encode())
    note = (
        f"\n[... {size - kept} bytes cut: this log had {size} bytes, "
        f"ASSAY_MAX_LOG_BYTES keeps {limit} ...]\n"
    )
    return head + note + tail, size


def log_chunks(log: str) -> Iterator[bytes]:
    """The stored log as UTF-8 in chunks, for a streamed download."""
    data = log.encode("utf-8", "surrogatepass")
    for start in range(0, len(data), CHUNK_BYTES):
        yield data[start : start + CHUNK_BYTES]
