"""Decide which parser a file needs, after refusing files that are not text at all."""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from .base import ParseError, line_of_offset

UTF8_BOM = b"\xef\xbb\xbf"

# <?xml version="1.0" encoding="ISO-8859-1"?>  (only looked for at the very start)
_XML_ENCODING_RE = re.compile(
    rb"""<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']"""
)

_ASCII_WHITESPACE = b" \t\r\n\f\v"


# Text codecs that only make sense for short strings, never for a whole file.
_NOT_TEXT = frozenset({"idna", "punycode"})


def decode_text(data: bytes, filename: str) -> str:
    """Return ``data`` as text, or raise ``ParseError`` for empty or binary input.

    Binary means: a NUL byte anywhere (this also catches UTF-16/32), or bytes that are not
    valid UTF-8. An XML file may declare another encoding in its ``<?xml ...?>``
    declaration; it is then checked against that encoding instead.
    """
    return "".join(text for _, text in Source(io.BytesIO(data), filename).chunks())


def detect_format(text: str) -> str:
    """``"junit"``, ``"json"`` or ``"pdk"``, from the first non-blank character."""
    first = text.lstrip()[:1]
    if first == "<":
        return "junit"
    if first in ("{", "["):  # "[" cannot start a pdk log; let the JSON parser explain
        return "json"
    return "pdk"


# --- streaming: a file read in chunks, never whole --------------------------------------------

CHUNK_BYTES = 1 << 20


class Source:
    """A file of results read in chunks, each checked as decode_text checks a whole file (empty,
    whitespace only, NUL bytes, bytes not valid in the encoding: ``ParseError`` with the line).

    ``kind`` (junit, json, pdk) comes from the first non-blank character, as detect_format's;
    ``chunks()`` gives each chunk as read (bytes, for expat) with its decoded text."""

    def __init__(self, stream: BinaryIO, filename: str):
        self.stream = stream
        self.filename = filename
        head = stream.read(CHUNK_BYTES)
        self.bom = head.startswith(UTF8_BOM)
        if self.bom:
            head = head[len(UTF8_BOM) :]
        if not head:
            raise ParseError(filename, None, "the file is empty")
        # Enough of the file to see its first non-blank character (or its end).
        while not head.strip(_ASCII_WHITESPACE) and b"\x00" not in head:
            more = stream.read(CHUNK_BYTES)
            if not more:
                break
            head += more
        self.head = head
        self.encoding = _declared_encoding(head, filename)
        first = head.lstrip(_ASCII_WHITESPACE)[:1]
        self.kind = "junit" if first == b"<" else "json" if first in (b"{", b"[") else "pdk"

    def chunks(self) -> Iterator[tuple[bytes, str]]:
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        line = 1  # of the chunk's first byte
        data = self.head
        blank = True
        while True:
            final = not data
            nul = data.find(b"\x00")
            if nul >= 0:
                raise ParseError(
                    self.filename,
                    line + data.count(b"\n", 0, nul),
                    "binary data (NUL byte): this is not a text file of test results",
                )
            try:
                text = decoder.decode(data, final)
            except UnicodeDecodeError as exc:  # exc.object: this chunk after a partial char
                what = "UTF-8" if self.encoding == "utf-8" else self.encoding
                raise ParseError(
                    self.filename,
                    line + exc.object.count(b"\n", 0, exc.start),
                    f"binary data: byte 0x{exc.object[exc.start]:02x} is not valid {what} text",
                ) from None
            except UnicodeError as exc:
                raise ParseError(
                    self.filename, None, f"cannot decode the file as {self.encoding}: {exc}"
                ) from None
            if blank and text.strip():
                blank = False
            if final:
                if blank:
                    raise ParseError(self.filename, None, "the file contains only whitespace")
                return
            yield data, text
            line += data.count(b"\n")
            data = self.stream.read(CHUNK_BYTES)

    def line_batches(self) -> Iterator[list[str]]:
        """The text's lines without their "\\n", a list per chunk read; the last line of the
        last list is "" when the file ends with one."""
        rest = ""
        for _, text in self.chunks():
            parts = (rest + text).split("\n")
            rest = parts.pop()
            yield parts
        yield [rest]


def _declared_encoding(head: bytes, filename: str) -> str:
    """utf-8, or what an XML declaration at the very start names (checked: a text codec)."""
    stripped = head.lstrip(_ASCII_WHITESPACE)
    if not stripped.startswith(b"<?xml"):
        return "utf-8"
    match = _XML_ENCODING_RE.match(stripped[:200])
    if not match:
        return "utf-8"
    declared = match.group(1).decode("ascii")
    try:
        info = codecs.lookup(declared)
        # codecs also knows rot13, base64, zlib...: byte transforms, not text.
        if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_TEXT:
            raise LookupError(declared)
    except LookupError:
        raise ParseError(
            filename,
            line_of_offset(head, len(head) - len(stripped)),
            f"unknown encoding {declared!r} in the XML declaration",
        ) from None
    return info.name
