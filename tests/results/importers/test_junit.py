"""JUnit XML: one realistic sample per tool that writes it, plus hostile and broken input."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from results.importers import ParseError, parse_file
from results.importers.junit import parse_junit

DATA = Path(__file__).parent / "data"
XML_SAMPLES = sorted(path.name for path in DATA.glob("*.xml"))


def parse_sample(name: str):
    return parse_file((DATA / name).read_bytes(), name)


def by_name(parsed):
    return {result.test_name: result for result in parsed.results}


def parse_xml(text: str):
    return parse_junit(text.encode(), "inline.xml")


def error_of(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_junit(text.encode(), "bad.xml")
    return info.value


def suite(*cases: str, attrs: str = 'name="s"') -> str:
    return f"<testsuite {attrs}>{''.join(cases)}</testsuite>"


# -- pytest -------------------------------------------------------------------------------


def test_pytest_xunit2():
    parsed = parse_sample("pytest_xunit2.xml")
    assert (parsed.format, parsed.flavour) == ("junit", "pytest-xunit2")
    results = by_name(parsed)
    assert {name: r.status for name, r in results.items()} == {
        "tests.test_calc.test_add": "P",
        "tests.test_calc.test_sub": "F",
        "tests.test_calc.test_div[4-2-2]": "P",
        "tests.test_calc.test_div[1-0-inf]": "D",
        "tests.test_db.TestQueries.test_select": "D",
        "tests.test_db.TestQueries.test_insert": "E",
        "tests.test_db.TestQueries.test_cleanup": "F",
        "tests.test_unicode.test_names[caf\u00e9-\u03bb]": "P",
    }
    for result in parsed.results:
        assert result.host == "ci-runner-07"
        assert result.start_time == datetime(2024, 3, 11, 10, 15, 2, 123456, tzinfo=UTC)
        assert result.end_time is None
        assert result.test_runner == "pytest"
        assert (result.test_run, result.project, result.context) == (None, None, None)

    sub = results["tests.test_calc.test_sub"]
    assert sub.duration == 0.003
    assert sub.tra == {"message": "assert 3 == 4\n +  where 3 = add(1, 2)"}
    assert sub.log.startswith("[failure] assert 3 == 4\n +  where 3 = add(1, 2)\ndef test_sub():\n")
    assert "E       assert 3 == 4" in sub.log
    assert sub.log.endswith(
        "[system-out]\n"
        "--------------------------------- Captured Out ---------------------------------\n"
        "computing 1 + 2"
    )

    assert results["tests.test_calc.test_div[4-2-2]"].tda == {"dataset": "small", "rows": "3"}
    xfail = results["tests.test_calc.test_div[1-0-inf]"]
    assert xfail.tra == {"message": "division by zero, see #12", "skip_type": "pytest.xfail"}
    skip = results["tests.test_db.TestQueries.test_select"]
    assert skip.tra == {"message": "needs postgres", "skip_type": "pytest.skip"}
    assert skip.log == "[skipped] pytest.skip\n/builds/assay/tests/test_db.py:20: needs postgres"
    setup_error = results["tests.test_db.TestQueries.test_insert"]
    assert setup_error.tra == {
        "message": 'failed on setup with "RuntimeError: database unavailable"'
    }
    assert "E       RuntimeError: database unavailable" in setup_error.log


def test_pytest_failure_and_teardown_error_of_one_test_are_merged():
    parsed = parse_sample("pytest_xunit2.xml")
    cleanup = [r for r in parsed.results if r.test_name.endswith("test_cleanup")]
    assert len(cleanup) == 1
    (result,) = cleanup
    assert result.status == "F"  # the failure outranks the teardown error
    assert result.duration == pytest.approx(0.012)
    assert result.tra == {"message": "AssertionError: 2 rows left"}
    assert result.log.index("AssertionError: 2 rows left") < result.log.index(
        "[repeated testcase]\n[error] failed on teardown"
    )
    assert parsed.warnings == [
        "line 17: 'tests.test_db.TestQueries.test_cleanup' appears more than once; "
        "merged into one result (worst status wins)"
    ]


def test_pytest_xunit1():
    parsed = parse_sample("pytest_xunit1.xml")
    assert parsed.flavour == "pytest-xunit1"
    results = by_name(parsed)
    assert [(r.test_name, r.status) for r in parsed.results] == [
        ("tests.io.test_read.test_read_csv", "P"),
        ("tests.io.test_read.test_read_gz", "F"),
        ("tests.io.test_write.test_write", "P"),
        ("tests.io.test_write.test_write_s3", "D"),
    ]
    csv = results["tests.io.test_read.test_read_csv"]
    assert csv.location == "tests/io/test_read.py"
    assert csv.tda == {"line": "11", "rows": "1000"}
    assert (csv.host, csv.start_time) == (None, None)  # old pytest wrote neither
    gz = results["tests.io.test_read.test_read_gz"]
    assert gz.tda == {"owner": "storage-team", "line": "24"}  # record_xml_attribute
    assert gz.log == (
        "[failure]\n"  # the message is in the text already, so not repeated here
        "tests/io/test_read.py:27: in test_read_gz\n"
        "    data = read(path)\n"
        "E   zlib.error: Error -3 while decompressing data: incorrect header check\n\n"
        "[system-out]\nopening /tmp/pytest-of-ci/pytest-3/test_read_gz0/data.csv.gz\n\n"
        "[system-err]\nwarning: truncated file?"
    )


# -- Maven Surefire -----------------------------------------------------------------------


def test_surefire_with_reruns_and_flakes():
    parsed = parse_sample("surefire.xml")
    assert parsed.flavour == "surefire"
    prefix = "com.example.store.OrderServiceTest."
    results = {r.test_name.removeprefix(prefix): r for r in parsed.results}
    assert {name: r.status for name, r in results.items()} == {
        "createsOrder": "P",
        "appliesDiscount": "F",
        "reservesStock": "P",
        "cancelsOrder": "E",
        "refundsOrder": "D",
        "listsOrders(int)[2]": "P",
    }
    for result in parsed.results:
        assert result.test_runner == "surefire"
        assert result.tda == {}  # the suite's system properties are not test attributes

    # failed on the first run and on every rerun: a failure, reruns kept in the log
    failed = results["appliesDiscount"]
    assert failed.tra == {
        "message": "expected: <90.0> but was: <100.0>",
        "failure_type": "org.opentest4j.AssertionFailedError",
        "reruns": "2",
    }
    assert failed.log.count("[rerunFailure] org.opentest4j.AssertionFailedError") == 2
    assert failed.log.index("[system-out]\ndiscount rules loaded: 3\n") < failed.log.index(
        "[rerunFailure]"
    )
    assert "[rerunFailure system-out]\ndiscount rules loaded: 3 (rerun 1)" in failed.log

    # failed, then passed on a rerun: a pass marked flaky, the failed runs in the log
    flaky = results["reservesStock"]
    assert flaky.tra == {"reruns": "2", "flaky": "true"}
    assert flaky.duration == 1.203
    assert "[flakyFailure] org.awaitility.core.ConditionTimeoutException\n" in flaky.log
    assert "Stock not reserved within 1000 ms" in flaky.log
    assert "[flakyFailure system-out]\nreservation queue depth: 17" in flaky.log
    assert "[flakyError] java.net.ConnectException\njava.net.ConnectException" in flaky.log

    errored = results["cancelsOrder"]
    assert errored.tra == {
        "message": "Connection refused",
        "failure_type": "java.net.ConnectException",
        "reruns": "1",
    }
    assert "[system-err]\nWARN pool exhausted" in errored.log
    assert results["refundsOrder"].tra == {"message": "refunds are disabled in this build"}
    assert results["createsOrder"].log == ""


def test_surefire_reruns_fill_retries():
    """retries: failed attempts before the final one. A flaky pass (flakyFailure/flakyError)
    passed on retry; a failure whose reruns failed too is F with its reruns counted."""
    prefix = "com.example.store.OrderServiceTest."
    retries = {
        r.test_name.removeprefix(prefix): (r.status, r.retries)
        for r in parse_sample("surefire.xml").results
    }
    assert retries["reservesStock"] == ("P", 2)  # passed on retry
    assert retries["appliesDiscount"] == ("F", 2)
    assert retries["cancelsOrder"] == ("E", 1)
    assert retries["createsOrder"] == ("P", 0)


# pytest-rerunfailures: pytest's junitxml ignores the "rerun" reports, so each rerun attempt
# leaves an empty <testcase> of the same name before the final one (issue #170 of
# pytest-rerunfailures; since 16.6.1 one record per attempt).
RERUNFAILURES = b"""<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="0" tests="7" time="0.3"
 timestamp="2026-11-01T10:00:00" hostname="ci-7">
<testcase classname="tests.test_net" name="test_flaky" time="0.01"/>
<testcase classname="tests.test_net" name="test_flaky" time="0.01"/>
<testcase classname="tests.test_net" name="test_broken" time="0.01"/>
<testcase classname="tests.test_net" name="test_broken" time="0.01"/>
<testcase classname="tests.test_net" name="test_broken" time="0.01"><failure
 message="assert 1 == 2">assert 1 == 2</failure></testcase>
<testcase classname="tests.test_net" name="test_teardown" time="0.01"/>
<testcase classname="tests.test_net" name="test_teardown" time="0.00"><error
 message="failed on teardown with &quot;OSError: busy&quot;">OSError: busy</error></testcase>
<testcase classname="tests.test_net" name="test_once" time="0.01"/>
</testsuite></testsuites>"""


def test_pytest_rerunfailures_repeated_testcases_are_reruns():
    parsed = parse_junit(RERUNFAILURES, "reruns.xml")
    got = {r.test_name.rsplit(".", 1)[1]: (r.status, r.retries) for r in parsed.results}
    assert got == {
        "test_flaky": ("P", 1),  # failed once, passed on the rerun
        "test_broken": ("F", 2),  # failed, and failed both reruns
        "test_teardown": ("E", 0),  # pytest's own second record for a teardown error
        "test_once": ("P", 0),
    }


# -- CTest ----------------------------------------------------------------------------------


def test_ctest():
    parsed = parse_sample("ctest.xml")
    assert parsed.flavour == "ctest"
    assert [(r.test_name, r.status, r.duration) for r in parsed.results] == [
        ("unit_parser", "P", 0.0123),
        ("unit_storage", "F", 0.5321),
        ("integration/replication", "F", 3.0004),  # classname == name: the name alone
        ("bench_smoke", "D", 0.0),  # status="notrun"
        ("legacy_codec", "D", 0.0),  # status="disabled", no <skipped> element
        ("doc_examples", "P", 0.2107),
    ]
    results = by_name(parsed)
    for result in parsed.results:
        assert result.host == "build-07"
        assert result.start_time == datetime(2024, 3, 11, 10, 15, 2, tzinfo=UTC)
        assert result.test_runner == "ctest"
    assert results["unit_parser"].tda == {"cmake_labels": "unit;fast"}
    assert results["integration/replication"].tra == {"message": "Timeout"}
    assert results["bench_smoke"].tra == {"message": "Required Files Missing"}
    assert results["unit_storage"].log == (
        "[failure] Failed\n\n[system-out]\nstorage_test.cpp:88: Failure\n"
        "Expected equality of these values:\n  pages.size()\n    Which is: 3\n  4"
    )
    assert results["legacy_codec"].log == ""


# -- Node's test runner -------------------------------------------------------------------


def test_node_test_runner():
    parsed = parse_sample("node.xml")
    assert parsed.flavour == "node"
    assert [(r.test_name, r.status) for r in parsed.results] == [
        ("parses an empty config", "P"),
        ("rejects unknown keys", "F"),
        ("http client.retries on 503", "P"),
        ("http client.follows redirects", "D"),
        ("http client.timeouts.aborts after 1s", "F"),
        ("http client.timeouts.keeps sockets alive", "D"),  # todo that threw: still todo
    ]
    results = by_name(parsed)
    top = results["parses an empty config"]
    assert (top.host, top.start_time, top.duration) == (None, None, 0.000815)
    assert top.location == "/srv/app/test/config.test.mjs"
    nested = results["http client.timeouts.aborts after 1s"]
    assert nested.host == "ci-runner-07"
    assert nested.start_time == datetime(2024, 3, 11, 10, 15, 2, 447000, tzinfo=UTC)
    assert nested.tra == {
        "message": "test timed out after 1000ms",
        "failure_type": "testTimeoutFailure",
    }
    assert results["http client.follows redirects"].tra == {"skip_type": "skipped"}
    assert results["http client.follows redirects"].log == "[skipped] skipped"
    todo = results["http client.timeouts.keeps sockets alive"]
    assert todo.tra == {"message": "needs keep-alive agent", "skip_type": "todo"}
    assert todo.log.startswith(
        "[skipped] todo: needs keep-alive agent\n\n[failure] testCodeFailure"
    )
    assert "socket hang up" in todo.log
    failed = results["rejects unknown keys"]
    assert (
        failed.tra["message"] == "Expected values to be strictly equal:\n\n'strict' !== 'lenient'"
    )
    assert "at TestContext.<anonymous> (file:///srv/app/test/config.test.mjs:14:10)" in failed.log


# -- googletest ---------------------------------------------------------------------------


def test_googletest():
    parsed = parse_sample("googletest.xml")
    assert parsed.flavour == "googletest"
    assert [(r.test_name, r.status) for r in parsed.results] == [
        ("BTreeTest.InsertsInOrder", "P"),
        ("BTreeTest.SplitsRoot", "F"),
        ("BTreeTest.DISABLED_Rebalances", "D"),  # status="notrun" result="suppressed"
        ("BTreeTest.HugeKeys", "D"),  # result="skipped"
        ("Codecs.CodecTest.RoundTrip/0", "P"),
        ("Codecs.CodecTest.RoundTrip/1", "P"),
        ("Codecs.CodecTest.RoundTrip/2", "P"),
    ]
    results = by_name(parsed)
    inserts = results["BTreeTest.InsertsInOrder"]
    assert inserts.tda == {"pages": "12", "line": "14"}
    assert inserts.location == "btree_test.cc"
    assert inserts.start_time == datetime(2024, 3, 11, 10, 15, 2, 318000, tzinfo=UTC)
    assert inserts.test_runner == "googletest"
    # a test that never ran has the timestamp 1970-01-01T00:00:00: no start time
    assert results["BTreeTest.DISABLED_Rebalances"].start_time is None
    splits = results["BTreeTest.SplitsRoot"]
    assert splits.tra == {
        "message": "btree_test.cc:31\nExpected equality of these values:\n"
        "  tree.height()\n    Which is: 1\n  2"
    }
    assert splits.log.count("[failure]\n") == 2  # both assertion failures, message not repeated
    assert "Value of: tree.root()->is_leaf()" in splits.log
    assert results["Codecs.CodecTest.RoundTrip/1"].tda == {"value_param": '"zstd"', "line": "20"}
    assert results["BTreeTest.HugeKeys"].tra == {"message": "btree_test.cc:53\nneeds 8 GiB of RAM"}


# -- gotestsum ----------------------------------------------------------------------------


def test_gotestsum():
    parsed = parse_sample("gotestsum.xml")
    assert parsed.flavour == "gotestsum"
    wal = "github.com.acme.kvstore.internal.wal."
    assert [(r.test_name, r.status) for r in parsed.results] == [
        ("github.com.acme.kvstore.cmd.kvctl.TestMain", "F"),  # classname="": the package
        (wal + "TestReplay/corrupt_tail", "F"),
        (wal + "TestReplay", "F"),
        (wal + "TestFsyncOnLinux", "D"),
        (wal + "TestReplay/empty", "P"),
        (wal + "TestAppend", "P"),
    ]
    results = by_name(parsed)
    main = results["github.com.acme.kvstore.cmd.kvctl.TestMain"]
    assert main.log == (
        "[failure] Failed\n"
        "FAIL\tgithub.com/acme/kvstore/cmd/kvctl [setup failed]\n"
        "# github.com/acme/kvstore/cmd/kvctl\n"
        "cmd/kvctl/main.go:12:2: undefined: flagSet"
    )
    assert main.start_time == datetime(2024, 3, 11, 10, 15, 2, tzinfo=UTC)
    assert results[wal + "TestAppend"].duration == 1.15
    assert results[wal + "TestFsyncOnLinux"].tra["message"].startswith("=== RUN   TestFsync")
    assert {r.test_runner for r in parsed.results} == {"gotestsum"}


# -- anything else ------------------------------------------------------------------------


def test_generic_jest_junit():
    parsed = parse_sample("generic_jest.xml")
    assert parsed.flavour == "generic"
    assert [(r.test_name, r.status) for r in parsed.results] == [
        ("Cart adds an item", "P"),  # classname == name
        ("Cart applies a coupon", "F"),
        ("Cart checkout", "D"),
        ("Cart empties", "P"),
    ]
    coupon = parsed.results[1]
    # no message attribute: the first line of the text stands in
    assert coupon.tra == {"message": "Error: expect(received).toBe(expected) // Object.is equality"}
    assert coupon.log.startswith("[failure]\nError: expect(received)")
    assert {r.test_runner for r in parsed.results} == {""}
    assert parsed.results[0].start_time == datetime(2024, 3, 11, 10, 15, 4, tzinfo=UTC)


@pytest.mark.parametrize("name", XML_SAMPLES)
def test_every_sample_cut_in_half_is_refused_with_a_line_number(name):
    data = (DATA / name).read_bytes()
    truncated = data[: len(data) // 2]
    with pytest.raises(ParseError) as info:
        parse_file(truncated, name)
    error = info.value
    assert error.filename == name
    assert error.line == truncated.count(b"\n") + 1  # the parser stops at the cut
    assert error.message.startswith("malformed XML: ")


def test_root_may_be_testsuite_or_testsuites():
    case = '<testcase classname="a" name="t"/>'
    single = parse_xml(suite(case))
    wrapped = parse_xml("<testsuites>" + suite(case) + "</testsuites>")
    assert [r.test_name for r in single.results] == ["a.t"]
    assert [r.test_name for r in wrapped.results] == ["a.t"]


@pytest.mark.parametrize(
    ("root", "tag"),
    [("<html><body/></html>", "html"), ("<testcase name='t'/>", "testcase"), ("<r/>", "r")],
)
def test_other_root_elements_are_refused(root, tag):
    error = error_of(f'<?xml version="1.0"?>\n{root}')
    assert error.line == 2
    assert error.message.startswith(f"root element is <{tag}>: ")


def test_names_without_classname_come_from_the_enclosing_suites():
    text = (
        '<testsuites name="all"><testsuite name="outer"><testsuite name="inner">'
        '<testcase name="t1"/></testsuite><testcase name="t2"/></testsuite>'
        '<testsuite name="pkg/sub"><testcase name="t3"/></testsuite></testsuites>'
    )
    assert [r.test_name for r in parse_xml(text).results] == [
        "outer.inner.t1",
        "outer.t2",
        "pkg.sub.t3",  # a package path's slashes become dots
    ]


@pytest.mark.parametrize(
    ("classname", "name", "expected"),
    [
        ("", "t", "t"),
        ("t", "t", "t"),
        ("a.B", "t[x/y]", "a.B.t[x/y]"),
        ("github.com/o/r/pkg", "TestX/sub", "github.com.o.r.pkg.TestX/sub"),
        ("Cart when empty", "shows/hides", "Cart when empty.shows/hides"),  # prose stays
    ],
)
def test_classname_and_name(classname, name, expected):
    text = suite(f'<testcase classname="{classname}" name="{name}"/>')
    assert parse_xml(text).results[0].test_name == expected


@pytest.mark.parametrize(
    ("attributes", "children", "status"),
    [
        ("", "", "P"),
        ('status="run"', "", "P"),
        ('status="notrun"', "", "D"),
        ('status="disabled"', "", "D"),
        ('result="suppressed"', "", "D"),
        ('status="fail"', "", "F"),
        ("", "<failure/>", "F"),
        ("", "<error/>", "E"),
        ("", "<skipped/>", "D"),
        ("", "<error/><failure/>", "F"),
        ("", "<skipped/><failure/>", "F"),  # only Node means "skipped" by this
        ("", "<flakyFailure/>", "P"),
        ("", "<failure/><rerunFailure/>", "F"),
        ("", "<system-out>x</system-out>", "P"),
    ],
)
def test_status_mapping(attributes, children, status):
    text = suite(f'<testcase classname="c" name="t" {attributes}>{children}</testcase>')
    assert parse_xml(text).results[0].status == status


def test_repeated_testcases_are_merged():
    text = suite(
        '<testcase classname="c" name="t" time="1"><skipped message="later"/></testcase>',
        '<testcase classname="c" name="t" time="2"/>',
        '<testcase classname="c" name="t" time="3"><error message="boom"/></testcase>',
        '<testcase classname="c" name="u" time="4"/>',
    )
    parsed = parse_xml(text)
    assert [(r.test_name, r.status, r.duration) for r in parsed.results] == [
        ("c.t", "E", 6.0),
        ("c.u", "P", 4.0),
    ]
    assert parsed.results[0].tra == {"message": "boom"}
    assert len(parsed.warnings) == 2


def test_properties_attributes_and_assertions():
    text = suite(
        '<testcase classname="c" name="t" assertions="7" owner="qa" file="t.php" line="9">'
        '<properties><property name="seed" value="42"/>'
        '<property name="doc">multi\nline</property></properties></testcase>'
    )
    (result,) = parse_xml(text).results
    assert result.tda == {"owner": "qa", "line": "9", "seed": "42", "doc": "multi\nline"}
    assert result.tra == {"assertions": "7"}
    assert result.location == "t.php"


def test_default_namespace_is_ignored():
    text = (
        '<testsuites xmlns="urn:example:junit"><testsuite name="s" hostname="h">'
        '<testcase classname="c" name="t"><failure message="m"/></testcase>'
        "</testsuite></testsuites>"
    )
    (result,) = parse_xml(text).results
    assert (result.test_name, result.status, result.host, result.tra) == (
        "c.t",
        "F",
        "h",
        {"message": "m"},
    )


def test_times_and_timestamps():
    text = suite(
        '<testcase classname="c" name="a" time="1,234.5"/>',  # old Surefire
        '<testcase classname="c" name="b" time=""/>',
        '<testcase classname="c" name="c" time="0.25" timestamp="2024-03-11T10:15:02+02:00"/>',
        attrs='name="s" timestamp="2024-03-11T09:00:00.5"',
    )
    a, b, c = parse_xml(text).results
    assert (a.duration, b.duration, c.duration) == (1234.5, None, 0.25)
    assert a.start_time == datetime(2024, 3, 11, 9, 0, 0, 500000, tzinfo=UTC)  # naive: UTC
    assert c.start_time == datetime(2024, 3, 11, 8, 15, 2, tzinfo=UTC)
    assert c.start_time.utcoffset().total_seconds() == 7200


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", "1e999"])
def test_invalid_time_is_refused_with_the_testcase_line(value):
    error = error_of(
        suite(
            '\n<testcase classname="c" name="ok" time="1"/>',
            f'\n<testcase classname="c" name="t" time="{value}"/>',
        )
    )
    assert error.line == 3
    assert error.message == f"invalid time {value!r} on <testcase name='t'>"


def test_invalid_timestamp_is_refused():
    error = error_of(
        '<testsuites>\n<testsuite name="s" timestamp="March 11th">\n</testsuite></testsuites>'
    )
    assert error.line == 2
    assert "invalid timestamp 'March 11th' on <testsuite>" in error.message


def test_testcase_without_name_is_refused():
    error = error_of(suite('\n<testcase classname="c" name="t"/>', '\n\n<testcase classname="c"/>'))
    assert (error.line, error.message) == (4, "<testcase> without a name attribute")


def test_testcase_with_empty_name_and_nothing_to_name_it_after_is_refused():
    error = error_of(
        '<testsuites>\n<testsuite>\n<testcase classname="" name=""/></testsuite></testsuites>'
    )
    assert (error.line, error.message) == (3, "<testcase> with an empty name")


@pytest.mark.parametrize(
    "text",
    [
        "<testsuite><testcase name='t'>",
        "<testsuite><testcase name='t'></testsuite>",
        "<testsuite><testcase name='t'/></testsuite><extra/>",
        "<testsuite name='a & b'/>",
        "<testsuite><testcase name='&undefined;'/></testsuite>",
    ],
)
def test_malformed_xml_is_refused(text):
    error = error_of(text)
    assert error.line == 1
    assert error.message.startswith("malformed XML: ")


# -- hostile XML: nothing is expanded, fetched or returned -----------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite name="s"><testcase classname="c" name="&lol9;"/></testsuite>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<testsuite name="s"><testcase classname="c" name="t"><failure>&xxe;</failure></testcase></testsuite>
"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE testsuite SYSTEM "http://127.0.0.1:9/junit.dtd">
<testsuite name="s"><testcase classname="c" name="t"/></testsuite>
"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<testsuite name="s"><testcase classname="c" name="t"/></testsuite>
"""

HARMLESS_DTD = """<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ELEMENT testsuite ANY>]>
<testsuite name="s"><testcase classname="c" name="t"/></testsuite>
"""


@pytest.mark.parametrize(
    "text", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY, HARMLESS_DTD]
)
def test_dtds_and_entities_are_refused(text):
    with pytest.raises(ParseError) as info:
        parse_file(text.encode(), "evil.xml")
    error = info.value
    assert error.line == 2
    assert error.message == "a DTD (<!DOCTYPE ...>) is not allowed in a JUnit XML file"
    assert "lollol" not in str(error) and "root:" not in str(error)


def test_entity_declared_without_being_used_is_still_refused():
    text = '<?xml version="1.0"?>\n<!DOCTYPE t [<!ENTITY a "b">]>\n<testsuite name="s"/>'
    error = error_of(text)
    assert error.line == 2 and "DTD" in error.message


# --- the build from <properties> -------------------------------------------------------------

PROPERTIES = """<?xml version="1.0"?>
<testsuites>
  <properties>
    <property name="series" value="nightly"/>
    <property name="branch" value="main"/>
    <property name="commit" value="abc123"/>
    <property name="build_url" value="https://ci.example.com/7"/>
    <property name="started_at" value="2026-11-02T09:00:00Z"/>
    <property name="assay.env" value="prod"/>
    <property name="ci.pipeline" value="1234"/>
  </properties>
  <testsuite name="s">
    <properties>
      <property name="java.version" value="21"/>
      <property name="user.home" value="/home/ci"/>
      <property name="assay.python" value="3.12"/>
      <property name="env" value="not an attribute: only assay.* and ci.* keys are"/>
    </properties>
    <testcase classname="a" name="t"/>
  </testsuite>
</testsuites>"""


def test_properties_name_the_series_and_the_builds_attributes():
    build = parse_xml(PROPERTIES).build
    assert (build.series, build.branch, build.commit) == ("nightly", "main", "abc123")
    assert build.build_url == "https://ci.example.com/7"
    assert build.started_at == datetime(2026, 11, 2, 9, tzinfo=UTC)
    # Surefire's copy of the JVM's system properties is left out: only assay.* and ci.* keys.
    assert build.attributes == {"env": "prod", "ci.pipeline": "1234", "python": "3.12"}


def test_assay_prefixed_build_properties_and_testcase_properties():
    build = parse_xml(
        '<testsuite name="s"><properties><property name="assay.series" value="weekly"/>'
        '<property name="assay.branch" value="dev"/></properties>'
        '<testcase name="t"><properties><property name="series" value="no"/></properties>'
        "</testcase></testsuite>"
    ).build
    assert (build.series, build.branch, build.attributes) == ("weekly", "dev", {})


def test_a_bad_build_time_in_properties_names_its_line():
    error = error_of(
        '<testsuite name="s">\n<properties>\n<property name="started_at" value="soon"/>'
        '</properties><testcase name="t"/></testsuite>'
    )
    assert error.line == 3 and "started_at" in error.message


def test_two_suites_that_disagree_on_the_series_are_refused():
    error = error_of(
        '<testsuites><testsuite name="a"><properties><property name="series" value="x"/>'
        '</properties><testcase name="t"/></testsuite><testsuite name="b"><properties>'
        '<property name="series" value="y"/></properties><testcase name="u"/></testsuite>'
        "</testsuites>"
    )
    assert "series" in error.message and "'x'" in error.message and "'y'" in error.message


def test_failure_messages_from_the_attribute_else_the_texts_first_line():
    results = parse_xml(
        '<testsuite name="s">'
        '<testcase name="a"><failure message="expected:&lt;3&gt; but was:&lt;4&gt;">t</failure>'
        "</testcase>"
        '<testcase name="b"><error type="E">\n\n  Boom: 7 things\nmore</error></testcase>'
        '<testcase name="c"><skipped message="not today"/></testcase>'
        '<testcase name="d"/></testsuite>'
    ).results
    assert [r.message for r in results] == [
        "expected:<3> but was:<4>", "Boom: 7 things", "", ""
    ]  # fmt: skip


@pytest.mark.parametrize("cut", [None, -40], ids=["whole", "cut-off"])
def test_parsing_leaves_nothing_for_the_cycle_collector(cut):
    # The expat parser and the handlers referred to each other: every testcase's naming
    # waited for a collection, which then scanned the whole parse (a tenth of an import).
    # A refused file too: ElementTree's parser keeps its expat parser until close().
    import gc

    from results.demo import junit_document

    data = junit_document(300)[:cut]

    def parse() -> None:
        try:
            assert len(parse_junit(data, "r.xml").results) == 300
        except ParseError as exc:
            assert cut and "malformed XML" in exc.message

    parse()  # the first parse loads modules (their own cycles)
    gc.collect()
    gc.disable()
    try:
        parse()
        assert gc.collect() == 0
    finally:
        gc.enable()
