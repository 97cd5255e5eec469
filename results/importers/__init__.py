"""Parsers for uploaded test-result files: Pandokia logs, JUnit XML and Assay's JSON.

Plain Python, no Django: ``parse_file(data, filename)`` returns a ``ParsedFile`` or raises
``ParseError`` ("name:line: message"). Nothing is half-imported: on error no results are
returned at all.

The format is detected from the first non-blank character: ``<`` JUnit XML, ``{`` Assay
JSON, anything else a Pandokia log. See docs/import-formats.md.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from .base import ParsedFile, ParsedResult, ParseError
from .detect import decode_text, detect_format
from .jsonfmt import parse_json
from .junit import MAX_DEPTH, parse_junit
from .pdk import parse_pdk

__all__ = ["ParseError", "ParsedFile", "ParsedResult", "parse_file"]


def parse_file(data: bytes, filename: str, *, max_depth: int = MAX_DEPTH) -> ParsedFile:
    """Detect the format of ``data`` (the raw bytes of an upload) and parse it.

    ``filename`` is only used in error messages. Raises ``ParseError`` for empty, binary,
    malformed or result-less input, and for XML nested more than ``max_depth`` deep.
    """
    with _gc_paused():
        text = decode_text(data, filename)
        kind = detect_format(text)
        if kind == "junit":
            # bytes: the XML declaration picks the encoding
            return parse_junit(data, filename, max_depth)
        if kind == "json":
            return parse_json(text, filename)
        return parse_pdk(text, filename)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while parsing.

    A large file creates hundreds of thousands of small objects, none of them in reference
    cycles; the collector would keep scanning them (and the rest of the process's heap)
    for nothing, which costs about a quarter of the parsing time.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
