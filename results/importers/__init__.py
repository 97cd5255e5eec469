"""Parsers for uploaded test-result files: Pandokia logs, JUnit XML and Assay's JSON.

Plain Python, no Django: ``parse_file(data, filename)`` returns a ``ParsedFile`` or raises
``ParseError`` ("name:line: message"). Nothing is half-imported: on error no results are
returned at all.

The format is detected from the first non-blank character: ``<`` JUnit XML, ``{`` Assay
JSON, anything else a Pandokia log. See docs/import-formats.md.
"""

from __future__ import annotations

import gc
import io
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from .base import MAX_DEPTH, BuildInfo, ParsedFile, ParsedResult, ParseError
from .detect import UTF8_BOM, Source
from .pdk import parse_pdk

__all__ = ["BuildInfo", "ParseError", "ParsedFile", "ParsedResult", "gc_paused", "parse_file"]


def parse_file(data: bytes | BinaryIO, filename: str, *, max_depth: int = MAX_DEPTH) -> ParsedFile:
    """Detect the format of ``data`` (an upload's bytes, or a binary file to read) and parse it.

    A file is read in chunks: JUnit XML and pdk logs are parsed as they are read, so that
    only the results are kept, never the whole text (a JSON document is read whole).
    ``filename`` is only used in error messages. Raises ``ParseError`` for empty, binary,
    malformed or result-less input, and for XML nested more than ``max_depth`` deep.
    """
    # The JUnit and JSON parsers load with their first file (the XML parser, the JSON schema's
    # validator): a CI job's process importing one file loads only its format's parser.
    with gc_paused():
        source = Source(io.BytesIO(data) if isinstance(data, bytes) else data, filename)
        if source.kind == "junit":
            # bytes: the XML declaration picks the encoding
            bom = [UTF8_BOM] if source.bom else []
            chunks = (chunk for chunk, _ in source.chunks())
            from .junit import parse_junit

            parsed = parse_junit(itertools.chain(bom, chunks), filename, max_depth)
        elif source.kind == "json":
            from .jsonfmt import parse_json

            parsed = parse_json("".join(text for _, text in source.chunks()), filename)
        else:
            parsed = parse_pdk(source.line_batches(), filename)
    # Source refused NUL bytes and decoded strictly (no surrogates); expat refuses &#0; and
    # surrogate references; the JSON parser refuses \u0000 and lone surrogate escapes.
    parsed.storable = True
    return parsed


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while parsing (and, in results.services.imports,
    until what was parsed has been written and freed).

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
