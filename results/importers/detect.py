"""Decide which parser a file needs, after refusing files that are not text at all."""

from __future__ import annotations

import codecs
import re

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
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if not data:
        raise ParseError(filename, None, "the file is empty")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ParseError(
            filename,
            line_of_offset(data, nul),
            "binary data (NUL byte): this is not a text file of test results",
        )
    encoding = "utf-8"
    stripped = data.lstrip(_ASCII_WHITESPACE)
    if stripped.startswith(b"<?xml"):
        match = _XML_ENCODING_RE.match(stripped[:200])
        if match:
            declared = match.group(1).decode("ascii")
            try:
                info = codecs.lookup(declared)
                # codecs also knows rot13, base64, zlib...: byte transforms, not text.
                if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_TEXT:
                    raise LookupError(declared)
                encoding = info.name
            except LookupError:
                raise ParseError(
                    filename,
                    line_of_offset(data, len(data) - len(stripped)),
                    f"unknown encoding {declared!r} in the XML declaration",
                ) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        what = "UTF-8" if encoding == "utf-8" else encoding
        raise ParseError(
            filename,
            line_of_offset(data, exc.start),
            f"binary data: byte 0x{data[exc.start]:02x} is not valid {what} text",
        ) from None
    except UnicodeError as exc:  # idna, punycode: encodings of names, not of files
        raise ParseError(filename, None, f"cannot decode the file as {encoding}: {exc}") from None
    if not text.strip():
        raise ParseError(filename, None, "the file contains only whitespace")
    return text


def detect_format(text: str) -> str:
    """``"junit"``, ``"json"`` or ``"pdk"``, from the first non-blank character."""
    first = text.lstrip()[:1]
    if first == "<":
        return "junit"
    if first in ("{", "["):  # "[" cannot start a pdk log; let the JSON parser explain
        return "json"
    return "pdk"
