"""Format detection and refusal of input that is not a text file of results."""

import contextlib
import gc
import io
import pickle
import random
from pathlib import Path

import pytest

from results.importers import ParsedFile, ParseError, parse_file
from results.importers.detect import detect_format

DATA = Path(__file__).parent / "data"

PDK_RECORD = "test_name=a.b\nstatus=P\nEND\n"


def parse_error(data: bytes, filename: str = "upload.dat") -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_file(data, filename)
    return info.value


def test_parse_error_formats_filename_line_and_message():
    error = ParseError("results.xml", 12, "mismatched tag")
    assert str(error) == "results.xml:12: mismatched tag"
    assert (error.filename, error.line, error.message) == ("results.xml", 12, "mismatched tag")
    assert isinstance(error, ValueError)
    assert str(ParseError("results.xml", None, "no test results found")) == (
        "results.xml: no test results found"
    )


def test_parse_error_survives_pickling():
    error = pickle.loads(pickle.dumps(ParseError("a.pdk", 3, "bad")))  # noqa: S301 (own data)
    assert (error.filename, error.line, error.message) == ("a.pdk", 3, "bad")
    assert str(error) == "a.pdk:3: bad"


def test_empty_input_is_refused():
    error = parse_error(b"", "empty.xml")
    assert error.line is None
    assert str(error) == "empty.xml: the file is empty"


@pytest.mark.parametrize(
    "data", [b" ", b"\n\n\n", b" \t\r\n \n", b"\xef\xbb\xbf \n", "\u00a0\n".encode()]
)
def test_whitespace_only_input_is_refused(data):
    error = parse_error(data)
    assert error.line is None
    assert "only whitespace" in error.message


def test_bom_alone_is_empty():
    assert "empty" in parse_error(b"\xef\xbb\xbf").message


def test_random_bytes_are_binary():
    data = random.Random(20240311).randbytes(4096)
    assert b"\x00" in data
    error = parse_error(data)
    assert "binary" in error.message
    assert error.line == data[: data.index(b"\x00")].count(b"\n") + 1


def test_random_bytes_without_nul_are_not_utf8():
    data = random.Random(7).randbytes(4096).replace(b"\x00", b"")
    error = parse_error(data)
    assert "binary" in error.message and "UTF-8" in error.message
    assert isinstance(error.line, int)


def test_png_header_is_binary_with_line_of_the_nul():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"
    error = parse_error(png, "screenshot.png")
    assert error.line == 3  # the first NUL follows two newlines
    assert str(error).startswith("screenshot.png:3: binary data")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_and_utf32_text_is_refused(encoding):
    error = parse_error(PDK_RECORD.encode(encoding))
    assert "binary" in error.message
    assert error.line == 1


def test_invalid_utf8_reports_the_line_of_the_first_bad_byte():
    data = b"test_name=a\nstatus=P\nlog=caf\xe9 au lait\nEND\n"
    error = parse_error(data, "latin1.pdk")
    assert error.line == 3
    assert "0xe9" in error.message


def test_utf8_bom_is_accepted():
    parsed = parse_file(b"\xef\xbb\xbf" + PDK_RECORD.encode(), "bom.pdk")
    assert [r.test_name for r in parsed.results] == ["a.b"]


def test_xml_may_declare_another_encoding():
    data = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<testsuite name="s"><testcase classname="pkg.Caf\u00e9" name="t\u00e9st"/></testsuite>'
    ).encode("latin-1")
    parsed = parse_file(data, "latin1.xml")
    assert [r.test_name for r in parsed.results] == ["pkg.Caf\u00e9.t\u00e9st"]


def test_xml_declaring_an_unknown_encoding_is_refused():
    data = b'<?xml version="1.0" encoding="x-no-such-thing"?>\n<testsuite/>'
    error = parse_error(data, "odd.xml")
    assert error.line == 1
    assert "x-no-such-thing" in error.message


def test_bytes_invalid_in_the_declared_xml_encoding_are_refused():
    data = b'<?xml version="1.0" encoding="ascii"?>\n<testsuite name="\xc3\xa9"/>'
    error = parse_error(data, "ascii.xml")
    assert error.line == 2
    assert "binary" in error.message


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("<testsuites/>", "junit"),
        ("\n\n   <?xml version='1.0'?><testsuite/>", "junit"),
        ('{"format": "assay-results/1"}', "json"),
        ("  \n[1, 2]", "json"),
        ("test_name=x\n", "pdk"),
        ("# comment\nSTART\n", "pdk"),
    ],
)
def test_detect_format_by_first_non_blank_character(text, kind):
    assert detect_format(text) == kind


@pytest.mark.parametrize(
    ("name", "kind", "flavour"),
    [
        ("pandokia.pdk", "pdk", ""),
        ("pytest_xunit2.xml", "junit", "pytest-xunit2"),
        ("surefire.xml", "junit", "surefire"),
    ],
)
def test_parse_file_dispatches_on_content_not_file_name(name, kind, flavour):
    data = (DATA / name).read_bytes()
    parsed = parse_file(data, "upload.txt")
    assert isinstance(parsed, ParsedFile)
    assert (parsed.format, parsed.flavour) == (kind, flavour)
    assert parsed.results


def test_json_is_detected():
    data = b'  {"format": "assay-results/1", "results": [{"name": "t", "status": "P"}]}'
    parsed = parse_file(data, "r.json")
    assert (parsed.format, parsed.flavour, len(parsed.results)) == ("json", "", 1)


def test_top_level_json_array_is_explained():
    error = parse_error(b'[{"name": "t", "status": "P"}]', "list.json")
    assert error.message.startswith("top level: must be object")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<testsuites>\n</testsuites>\n", "empty.xml"),
        (b'<testsuite name="s" tests="0"/>', "empty.xml"),
        (b'{"format": "assay-results/1", "results": []}', "empty.json"),
        (b"# nothing but comments\n\n# and defaults\nSTART\nproject=p\nSETDEFAULT\n", "e.pdk"),
    ],
)
def test_a_file_without_results_is_refused(data, name):
    error = parse_error(data, name)
    assert "no test results found" in error.message
    assert error.filename == name


@pytest.mark.parametrize("data", [PDK_RECORD.encode(), b"status=P\nEND\n"])
def test_parse_file_leaves_the_garbage_collector_as_it_found_it(data):
    assert gc.isenabled()
    with contextlib.suppress(ParseError):
        parse_file(data, "a.pdk")
    assert gc.isenabled()
    gc.disable()
    try:
        with contextlib.suppress(ParseError):
            parse_file(data, "a.pdk")
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("codec", ["rot13", "hex", "base64", "zlib", "uu", "idna", "punycode"])
def test_encodings_that_are_not_text_are_refused(codec):
    data = f'<?xml version="1.0" encoding="{codec}"?>\n<testsuite name="x"/>'.encode()
    with pytest.raises(ParseError) as err:
        parse_file(data, "enc.xml")
    assert err.value.filename == "enc.xml"


# --- files read as a stream -----------------------------------------------------------------


class Stream(io.BytesIO):
    """A file that records every read: a parse must never ask for the whole file at once."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.sizes: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and size > 0, "the whole file was read at once"
        self.sizes.append(size)
        return super().read(size)


def big_pdk(records: int) -> bytes:
    # "é" makes multi-byte characters fall across the 1 MiB chunk boundaries.
    return "".join(
        f"test_run=r\ntest_name=t.test_{n}\nstatus=P\nlog:\n.é{'x' * 300}\n\nEND\n"
        for n in range(records)
    ).encode()


@pytest.mark.parametrize("kind", ["pdk", "junit"])
def test_a_file_is_parsed_as_it_is_read_in_chunks(kind):
    if kind == "pdk":
        data = big_pdk(10_000)
    else:
        cases = "".join(f'<testcase classname="c" name="t{n}"><system-out>é{"x" * 300}'
                        "</system-out></testcase>\n" for n in range(10_000))  # fmt: skip
        data = f'<testsuite name="s">\n{cases}</testsuite>\n'.encode()
    assert len(data) > 3 * (1 << 20)
    stream = Stream(data)
    parsed = parse_file(stream, "big")
    assert len(parsed.results) == 10_000 and parsed.results[-1].log.startswith(
        "é" if kind == "pdk" else "[system-out]\né"
    )
    assert max(stream.sizes) <= 1 << 20 and len(stream.sizes) >= 4
    assert parse_file(data, "big").results == parsed.results  # bytes: the same parse


def test_a_nul_or_a_bad_byte_past_the_first_chunk_names_its_line():
    data = big_pdk(10_000)
    lines = data.count(b"\n")
    error = parse_error(data + b"test_name=x\x00\n")
    assert error.line == lines + 1 and "NUL byte" in error.message
    error = parse_error(data + b"\n\ntest_name=\xff\n")
    assert error.line == lines + 3 and "byte 0xff is not valid UTF-8" in error.message
    assert parse_error(b" \n" * (1 << 20)).message == "the file contains only whitespace"


@pytest.mark.parametrize(
    "data",
    [
        b'<testsuite><testcase name="a&#0;b"/></testsuite>',
        b'<testsuite><testcase name="a"><failure message="x&#xD800;y"/></testcase></testsuite>',
        b'<testsuite><testcase name="a"><system-out>&#55296;</system-out></testcase></testsuite>',
        b"test_name=a\x00b\nstatus=P\nEND\n",
        b"test_name=a\xed\xa0\x80b\nstatus=P\nEND\n",  # a surrogate encoded in UTF-8
        b'{"format": "assay-results/1", "results": [{"name": "a\\u0000", "status": "P"}]}',
        b'{"format": "assay-results/1", "results": [{"name": "a", "status": "P", '
        b'"tra": {"k": "\\udc80"}}]}',
    ],
)
def test_a_nul_or_a_lone_surrogate_never_leaves_a_parser(data):
    """The import trusts the parsers' text (ParsedFile.storable) and skips its own scan for
    what a database cannot store: the parsers must refuse it themselves."""
    with pytest.raises(ParseError):
        parse_file(data, "bad")


def test_what_parse_file_returns_is_vouched_storable():
    junit = parse_file(b'<testsuite><testcase name="a"/></testsuite>', "r.xml")
    pdk = parse_file(b"test_name=a\nstatus=P\nEND\n", "r.pdk")
    json = parse_file(b'{"format": "assay-results/1", "results": [{"name": "a", "status": "P"}]}',
                      "r.json")  # fmt: skip
    assert junit.storable and pdk.storable and json.storable
