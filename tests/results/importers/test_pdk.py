"""Pandokia "pdk" logs: the format as Pandokia's import_data.py reads it."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from results.importers import ParseError, parse_file
from results.importers.pdk import parse_pdk, parse_pdk_time

DATA = Path(__file__).parent / "data"


def parse(text: str):
    return parse_pdk(text, "run.pdk")


def error_of(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_pdk(text, "run.pdk")
    return info.value


def pycode_field(name: str, value: str) -> str:
    """How pandokia.helpers.pycode.reporter.write_field writes a field."""
    if "\n" in value:
        if value.endswith("\n"):
            value = value[:-1]
        return f"{name}:\n" + "".join(f".{line}\n" for line in value.split("\n")) + "\n"
    return f"{name}={value}\n"


# -- the sample log -----------------------------------------------------------------------


def test_sample_log():
    parsed = parse_file((DATA / "pandokia.pdk").read_bytes(), "pandokia.pdk")
    assert (parsed.format, parsed.flavour) == ("pdk", "")
    got = [(r.test_name, r.status) for r in parsed.results]
    assert got == [
        ("tests/test_wcs.test_pixel_to_world", "P"),
        ("tests/test_wcs.test_world_to_pixel", "F"),
        ("tests/test_wcs.test_distortion", "E"),
        ("tests/test_io.TestFits.test_read_header", "P"),
        ("tests/test_io.TestFits.test_write_compressed", "D"),
        ("tests/test_io.TestFits.test_checksum", "p"),
    ]
    first, failed, error, read_header, _, checksum = parsed.results

    # defaults from the first SETDEFAULT block
    assert (first.test_run, first.project, first.host, first.context) == (
        "daily_2024-03-11",
        "astrolib",
        "tlaloc",
        "default",
    )
    assert first.location == "/data/tests/astrolib/tests/test_wcs.py"
    assert first.test_runner == "pycode"
    assert first.start_time == datetime(2024, 3, 11, 10, 15, 2, 123456, tzinfo=UTC)
    assert first.end_time == datetime(2024, 3, 11, 10, 15, 2, 623456, tzinfo=UTC)
    assert first.duration == pytest.approx(0.5)
    assert first.tda == {"ra": "150.1", "dec": "2.2"}
    assert first.tra == {"max_error": "0.0004"}
    assert first.log == ""

    assert failed.log == (
        "Traceback (most recent call last):\n"
        '  File "/data/tests/astrolib/tests/test_wcs.py", line 40, in test_world_to_pixel\n'
        "    assert err < 0.01\n"
        "AssertionError: 0.31\n"
    )
    assert failed.tda == {"ra": "150.1"}  # TDAs are per record, not defaults
    assert failed.duration == pytest.approx(1.3)
    assert error.start_time is None and error.duration is None
    assert error.log == (
        "could not open reference file\n  /data/ref/distortion.fits: No such file or directory\n"
    )

    # the second START block replaced every default: no context any more
    assert (read_header.project, read_header.context, read_header.test_runner) == (
        "astrolib",
        None,
        "nose",
    )
    assert read_header.start_time == datetime(2024, 3, 11, 10, 15, 3, 250000, tzinfo=UTC)
    assert read_header.duration == pytest.approx(0.25)
    assert (checksum.host, checksum.context, checksum.tra) == (
        "tlaloc-arm",
        "arm64",
        {"note": "custom status letter"},
    )
    # pycode writes custom=... into SETDEFAULT; Pandokia ignores the field, so do we
    assert parsed.warnings == ["line 10: unknown field 'custom' ignored (as Pandokia does)"]


@pytest.mark.parametrize("cut", [0.25, 0.5, 0.75])
def test_truncated_sample_log_is_refused_with_a_line_number(cut):
    data = (DATA / "pandokia.pdk").read_bytes()
    truncated = data[: int(len(data) * cut)]
    with pytest.raises(ParseError) as info:
        parse_file(truncated, "cut.pdk")
    assert isinstance(info.value.line, int)
    assert info.value.line == truncated.count(b"\n") + (not truncated.endswith(b"\n"))
    assert "truncated" in info.value.message


# -- records ------------------------------------------------------------------------------


def test_minimal_record():
    (result,) = parse("test_name=a.b.c\nstatus=P\nEND\n").results
    assert (result.test_name, result.status) == ("a.b.c", "P")
    assert (result.test_run, result.project, result.host, result.context) == (None,) * 4
    assert (result.location, result.test_runner, result.log) == ("", "", "")
    assert (result.start_time, result.end_time, result.duration) == (None, None, None)
    assert (result.tda, result.tra) == ({}, {})


def test_blank_lines_comments_and_surrounding_whitespace_are_ignored():
    text = "\n# written by hand\n\n   test_name=t1  \n\tstatus=F\n\n  END  \n\n"
    (result,) = parse(text).results
    assert (result.test_name, result.status) == ("t1", "F")


def test_field_names_are_case_insensitive_and_attribute_names_lower_cased():
    (result,) = parse("TEST_NAME=t\nStatus=P\nTDA_Threads=4\nTRA_RowCount=9\nEND\n").results
    assert (result.test_name, result.status) == ("t", "P")
    assert result.tda == {"threads": "4"}
    assert result.tra == {"rowcount": "9"}


def test_value_keeps_everything_after_the_first_equals_sign():
    (result,) = parse("test_name=t\nstatus=P\ntda_expr=a=b==c\nEND\n").results
    assert result.tda == {"expr": "a=b==c"}


def test_later_value_wins_within_a_record():
    (result,) = parse("test_name=t\nstatus=F\nstatus=P\nEND\n").results
    assert result.status == "P"


def test_end_without_fields_is_ignored():
    parsed = parse("END\nEND\ntest_name=t\nstatus=P\nEND\nEND\n")
    assert [r.test_name for r in parsed.results] == ["t"]


def test_final_newline_is_optional():
    assert [r.test_name for r in parse("test_name=t\nstatus=P\nEND").results] == ["t"]


def test_crlf_line_endings():
    text = "test_name=t\r\nstatus=F\r\nlog:\r\n.line 1\r\n.line 2\r\n\r\nEND\r\n"
    (result,) = parse(text).results
    assert (result.test_name, result.status, result.log) == ("t", "F", "line 1\nline 2\n")


@pytest.mark.parametrize("status", ["P", "F", "E", "D", "M", "a", "z"])
def test_valid_status_letters(status):
    assert parse(f"test_name=t\nstatus={status}\nEND\n").results[0].status == status


@pytest.mark.parametrize("status", ["X", "PASS", "", "p1", "1", "é", "Pp"])
def test_invalid_status_is_refused_at_its_line(status):
    error = error_of(f"test_name=t\n\nstatus={status}\nEND\n")
    assert error.line == 3
    assert "invalid status" in error.message and "'t'" in error.message


def test_record_without_status_is_refused_at_its_end():
    error = error_of("test_name=t\nstatus=P\nEND\ntest_name=u\nlog=x\nEND\n")
    assert error.line == 6
    assert error.message == "record for 'u' has no status"


def test_record_without_test_name_is_refused_at_its_end():
    error = error_of("test_name=t\nstatus=P\nEND\nstatus=P\nhost=h\nEND\n")
    assert (error.line, error.message) == (6, "record without test_name")


def test_name_is_an_old_alias_of_test_name():
    (result,) = parse("name=legacy.nose.test\nstatus=P\nEND\n").results
    assert result.test_name == "legacy.nose.test"


def test_test_names_are_cleaned_like_pandokia_does():
    text = (
        "test_name=./dir//sub/test one\tand two.log\nstatus=P\nEND\n"
        "test_name=/report.xml\nstatus=P\nEND\n"
    )
    assert [r.test_name for r in parse(text).results] == ["dir/sub/test_one_and_two", "report"]


def test_empty_test_name_is_refused():
    error = error_of("test_name=./\nstatus=P\nEND\n")
    assert (error.line, error.message) == (1, "empty test_name")


def test_empty_identity_fields_mean_not_given():
    (result,) = parse("test_run=\nproject= \nhost=h\ntest_name=t\nstatus=P\nEND\n").results
    assert (result.test_run, result.project, result.host) == (None, None, "h")


def test_unknown_fields_are_ignored_with_one_warning_each():
    text = "custom=a\ntest_name=t\nstatus=P\nEND\ncustom=b\nfoo=1\ntest_name=u\nstatus=P\nEND\n"
    parsed = parse(text)
    assert [(r.tda, r.tra) for r in parsed.results] == [({}, {}), ({}, {})]
    assert parsed.warnings == [
        "line 1: unknown field 'custom' ignored (as Pandokia does)",
        "line 6: unknown field 'foo' ignored (as Pandokia does)",
    ]


def test_attn_overrides_pandokias_attention_flag():
    (result,) = parse("test_name=t\nstatus=F\nattn=n\nEND\n").results
    assert result.tra == {"_attn": "N"}
    error = error_of("test_name=t\nstatus=F\nattn=maybe\nEND\n")
    assert error.line == 3 and "attn" in error.message


def test_duplicate_results_keep_the_first_like_pandokia():
    text = (
        "test_name=t\nstatus=F\nEND\n"
        "test_name=t\nstatus=P\nEND\n"
        "test_name=t\nhost=h2\nstatus=P\nEND\n"
    )
    parsed = parse(text)
    assert [(r.test_name, r.host, r.status) for r in parsed.results] == [
        ("t", None, "F"),
        ("t", "h2", "P"),
    ]
    assert parsed.warnings == [
        "line 6: duplicate result for 't' ignored (first one ends at line 3)"
    ]


def test_unrecognised_line_is_refused():
    error = error_of("test_name=t\nstatus=P\nthis is not a field\nEND\n")
    assert error.line == 3
    assert "unrecognised line 'this is not a field'" in error.message


def test_text_after_the_colon_of_a_multi_line_field_is_refused():
    error = error_of("test_name=t\nstatus=P\nlog: oops\n.x\n\nEND\n")
    assert error.line == 3
    assert "after 'log:'" in error.message


# -- multi-line values --------------------------------------------------------------------


def test_multi_line_value():
    text = "test_name=t\nstatus=F\nlog:\n.first\n.\n.  indented .dots.\n\nEND\n"
    (result,) = parse(text).results
    assert result.log == "first\n\n  indented .dots.\n"


def test_any_field_can_be_multi_line():
    text = "test_name=t\nstatus=P\ntda_sql:\n.SELECT 1\n.FROM t\n\nlocation:\n./srv/x.py\n\nEND\n"
    (result,) = parse(text).results
    assert result.tda == {"sql": "SELECT 1\nFROM t\n"}
    assert result.location == "/srv/x.py\n"


def test_multi_line_value_may_be_empty():
    (result,) = parse("test_name=t\nstatus=P\nlog:\n\nEND\n").results
    assert result.log == ""


def test_multi_line_value_ended_by_the_next_field_instead_of_a_blank_line():
    (result,) = parse("test_name=t\nlog:\n.boom\nstatus=E\nEND\n").results
    assert (result.log, result.status) == ("boom\n", "E")


def test_multi_line_value_round_trips_pycode_writer():
    log = "line 1\n\n  line 3 = not a field\nEND\n"
    text = pycode_field("test_name", "t") + pycode_field("status", "F") + pycode_field("log", log)
    (result,) = parse(text + "END\n").results
    assert result.log == log


def test_file_ending_inside_a_multi_line_value_is_refused():
    error = error_of("test_name=t\nstatus=F\nlog:\n.Traceback\n.  File x\n")
    assert error.line == 5
    assert "multi-line value 'log' started at line 3" in error.message


def test_file_ending_without_end_is_refused():
    error = error_of("test_name=t\nstatus=P\nEND\ntest_name=u\nstatus=P\n")
    assert error.line == 5
    assert "record started at line 4" in error.message and "missing END" in error.message


def test_a_missing_end_in_the_middle_is_refused_not_merged():
    """Pandokia merges the two records and keeps the second test: one test lost, silently."""
    text = "test_name=a\nstatus=F\ntest_name=b\nstatus=P\nEND\n"
    error = error_of(text)
    assert error.line == 3
    assert "a second test name in the record started at line 1" in error.message
    assert "END line missing before line 3" in error.message
    alias = error_of("name=a\nstatus=F\nlog:\n.boom\n\ntest_name=b\nstatus=P\nEND\n")
    assert alias.line == 6 and "(the first at line 1)" in alias.message


def test_a_default_may_be_given_again_in_a_record():
    """SETDEFAULT's fields are the defaults, not this record's: a record may override them."""
    [one, two] = parse(
        "host=ci-1\nSETDEFAULT\ntest_name=a\nstatus=P\nhost=ci-2\nEND\ntest_name=b\nstatus=P\nEND\n"
    ).results
    assert (one.host, two.host) == ("ci-2", "ci-1")


# -- SETDEFAULT and START -----------------------------------------------------------------


def test_setdefault_values_apply_to_every_later_record_and_can_be_overridden():
    text = (
        "test_run=r1\nproject=p\nhost=h\ntda_suite=s\nSETDEFAULT\n"
        "test_name=a\nstatus=P\nEND\n"
        "test_name=b\nhost=other\nstatus=F\nEND\n"
        "test_name=c\nstatus=P\nEND\n"
    )
    a, b, c = parse(text).results
    assert [(r.test_run, r.project, r.host, r.tda) for r in (a, b, c)] == [
        ("r1", "p", "h", {"suite": "s"}),
        ("r1", "p", "other", {"suite": "s"}),
        ("r1", "p", "h", {"suite": "s"}),  # an override lasts one record only
    ]


def test_setdefault_adds_to_earlier_defaults():
    text = "project=p\nSETDEFAULT\nhost=h\nSETDEFAULT\ntest_name=a\nstatus=P\nEND\n"
    (result,) = parse(text).results
    assert (result.project, result.host) == ("p", "h")


def test_setdefault_block_at_the_end_of_the_file_is_fine():
    parsed = parse("test_name=a\nstatus=P\nEND\nSTART\nproject=q\nSETDEFAULT\n")
    assert [r.test_name for r in parsed.results] == ["a"]


def test_start_clears_defaults():
    text = (
        "project=p\ncontext=c\nSETDEFAULT\ntest_name=a\nstatus=P\nEND\n"
        "START\ntest_name=b\nstatus=P\nEND\n"
    )
    a, b = parse(text).results
    assert (a.project, a.context) == ("p", "c")
    assert (b.project, b.context) == (None, None)


def test_start_discards_an_unfinished_record():
    text = "test_name=lost\nstatus=F\n\n\nSTART\ntest_name=kept\nstatus=P\nEND\n"
    assert [r.test_name for r in parse(text).results] == ["kept"]


def test_test_name_before_setdefault_is_refused():
    error = error_of("project=p\ntest_name=t\nSETDEFAULT\n")
    assert error.line == 3
    assert "test_name" in error.message and "SETDEFAULT" in error.message


def test_errors_in_defaults_point_at_the_default_line():
    error = error_of("start_time=yesterday\nSETDEFAULT\ntest_name=t\nstatus=P\nEND\n")
    assert error.line == 1
    assert "invalid start_time 'yesterday'" in error.message


# -- times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1710152103", datetime(2024, 3, 11, 10, 15, 3, tzinfo=UTC)),
        ("1710152103.25", datetime(2024, 3, 11, 10, 15, 3, 250000, tzinfo=UTC)),
        ("2024-03-11 10:15:03", datetime(2024, 3, 11, 10, 15, 3, tzinfo=UTC)),
        ("2024-03-11 10:15:03.5", datetime(2024, 3, 11, 10, 15, 3, 500000, tzinfo=UTC)),
        ("2024-03-11 10:15:03.123456789", datetime(2024, 3, 11, 10, 15, 3, 123456, tzinfo=UTC)),
        ("2024-03-11T10:15:03Z", datetime(2024, 3, 11, 10, 15, 3, tzinfo=UTC)),
        (
            "2024-03-11T11:15:03+01:00",
            datetime(2024, 3, 11, 11, 15, 3, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("Mon Mar 11 10:15:03 2024", datetime(2024, 3, 11, 10, 15, 3, tzinfo=UTC)),
    ],
)
def test_time_formats(text, expected):
    parsed = parse_pdk_time(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value", ["yesterday", "2024-13-01 00:00:00", "nan", "inf", "1e400", "11/03/2024 10:15"]
)
def test_invalid_time_is_refused_at_its_line(value):
    error = error_of(f"test_name=t\nstatus=P\nstart_time=0\nend_time={value}\nEND\n")
    assert error.line == 4
    assert f"invalid end_time {value!r}" in error.message


def test_duration_comes_from_start_and_end():
    (result,) = parse("test_name=t\nstatus=P\nstart_time=100\nend_time=102.5\nEND\n").results
    assert result.duration == pytest.approx(2.5)


def test_end_before_start_gives_no_duration():
    (result,) = parse("test_name=t\nstatus=P\nstart_time=200\nend_time=100\nEND\n").results
    assert (result.start_time.timestamp(), result.end_time.timestamp()) == (200, 100)
    assert result.duration is None


def test_a_failures_message_is_its_logs_first_line():
    [failed, passed] = parse(
        "test_name=t.a\nstatus=F\nlog:\n.\n.  AssertionError: assert 3 == 4  \n.more\n\nEND\n"
        "test_name=t.b\nstatus=P\nlog:\n.all good\n\nEND\n"
    ).results
    assert failed.message == "AssertionError: assert 3 == 4"
    assert passed.message == ""
