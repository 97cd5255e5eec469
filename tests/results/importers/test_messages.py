"""The failure-message normalizer: what varies between occurrences of one failure goes, what
tells failures apart stays. Real messages from pytest, JUnit/Java, Go, googletest and SQL."""

from __future__ import annotations

import pytest

from results.importers.messages import (
    FINGERPRINT_LENGTH,
    MESSAGE_LENGTH,
    clean,
    failure_message,
    fingerprint,
    first_line,
    normalize_message,
)
from results.models import TestResult

CASES = [
    # pytest
    ("assert 3 == 4", "assert <n> == <n>"),
    ("AssertionError: assert 17 == 4", "AssertionError: assert <n> == <n>"),
    ("AssertionError: expected 'abc' got 'abd'", "AssertionError: expected <str> got <str>"),
    ("assert [1, 2, 3] == [1, 2]", "assert [<n>, ...] == [<n>, ...]"),
    ("assert -5 > 0", "assert <n> > <n>"),
    ("assert 0.30000000000000004 == 0.3", "assert <n> == <n>"),
    ('assert "can\'t" in s', "assert <str> in s"),
    ("AssertionError: can't compare 3 with 4", "AssertionError: can't compare <n> with <n>"),
    (
        "AssertionError: assert 200 == 500\n +  where 200 = <Response [200]>.status_code",
        "AssertionError: assert <n> == <n> + where <n> = <Response [<n>]>.status_code",
    ),
    ('File "/home/ci/src/app/models.py", line 12, in save', "File <str>, line <n>, in save"),
    (
        "FileNotFoundError: [Errno 2] No such file or directory: "
        "'/tmp/pytest-of-ci/pytest-42/x0/a.txt'",
        "FileNotFoundError: [Errno <n>] No such file or directory: <str>",
    ),
    ("OSError: cannot open /tmp/tmpa8f3kz1q/data.db", "OSError: cannot open <path>"),
    ("TimeoutError: gave up after 30.5s", "TimeoutError: gave up after <n>s"),
    ("KeyError: 'user_8412'", "KeyError: <str>"),
    (
        "ValueError: <app.models.User object at 0x7f3a2c1b9d30> has no id",
        "ValueError: <app.models.User object at <hex>> has no id",
    ),
    ("Failed: DID NOT RAISE <class 'ValueError'>", "Failed: DID NOT RAISE <class <str>>"),
    (
        "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 5432)",
        "ConnectionRefusedError: [Errno <n>] Connect call failed (<str>, <n>)",
    ),
    (
        "requests.exceptions.ConnectionError: HTTPConnectionPool(host=localhost, port=8000)",
        "requests.exceptions.ConnectionError: HTTPConnectionPool(host=localhost, port=<n>)",
    ),
    (
        "dial tcp 10.0.3.17:5432: connect: connection refused",
        "dial tcp <ip>: connect: connection refused",
    ),
    (
        "expired at 2026-12-07T15:49:25.123Z, now 2026-12-07 15:50:01",
        "expired at <time>, now <time>",
    ),
    ("job 3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f failed", "job <uuid> failed"),
    ("commit 9fceb02d0ae598e95dc970b74767f19372d61af8 not found", "commit <hex> not found"),
    # JUnit / Java
    ("expected:<3> but was:<4>", "expected:<v> but was:<v>"),
    ("expected: <hello> but was: <world>", "expected: <v> but was: <v>"),
    (
        "org.opentest4j.AssertionFailedError: expected: <200> but was: <404>",
        "org.opentest4j.AssertionFailedError: expected: <v> but was: <v>",
    ),
    (
        'java.lang.NullPointerException: Cannot invoke "String.length()" because "s" is null',
        "java.lang.NullPointerException: Cannot invoke <str> because <str> is null",
    ),
    ("at com.foo.Bar.baz(Bar.java:42)", "at com.foo.Bar.baz(Bar.java:<n>)"),
    (
        "java.lang.ArrayIndexOutOfBoundsException: Index 5 out of bounds for length 3",
        "java.lang.ArrayIndexOutOfBoundsException: Index <n> out of bounds for length <n>",
    ),
    ("Expected: is <3>\n     but: was <4>", "Expected: is <v> but: was <v>"),
    # Go
    ("main_test.go:12: got 3, want 4", "main_test.go:<n>: got <n>, want <n>"),
    (
        'handler_test.go:88: unexpected body "ok\\n", want "fail"',
        "handler_test.go:<n>: unexpected body <str>, want <str>",
    ),
    (
        "panic: runtime error: index out of range [5] with length 3",
        "panic: runtime error: index out of range [<n>] with length <n>",
    ),
    ("panic: test timed out after 10m0s", "panic: test timed out after <n>m<n>s"),
    # googletest (its message spans lines)
    (
        "/src/net/socket_test.cc:42\nExpected equality of these values:\n  a\n    Which is: 3\n"
        "  b\n    Which is: 4",
        "<path> Expected equality of these values: a Which is: <n> b Which is: <n>",
    ),
    (
        "Value of: IsReady()\n  Actual: false\nExpected: true",
        "Value of: IsReady() Actual: false Expected: true",
    ),
    (
        r"C:\build\agent\_work\1\s\tests\foo_test.cpp(42): error: Value of: x",
        "<path>(<n>): error: Value of: x",
    ),
    # SQL errors
    (
        'ERROR: duplicate key value violates unique constraint "users_pkey"',
        "ERROR: duplicate key value violates unique constraint <str>",
    ),
    (
        'psycopg.errors.UndefinedTable: relation "t_1698" does not exist',
        "psycopg.errors.UndefinedTable: relation <str> does not exist",
    ),
    (
        "sqlite3.OperationalError: no such column: c12",
        "sqlite3.OperationalError: no such column: c<n>",
    ),
    (
        "django.db.utils.IntegrityError: NOT NULL constraint failed: results_testrun.series",
        "django.db.utils.IntegrityError: NOT NULL constraint failed: results_testrun.series",
    ),
    (
        "Deadlock found when trying to get lock; try restarting transaction (1213)",
        "Deadlock found when trying to get lock; try restarting transaction (<n>)",
    ),
]


@pytest.mark.parametrize(("message", "normalized"), CASES)
def test_normalize(message, normalized):
    assert normalize_message(message) == normalized
    assert normalize_message(normalized) == normalized  # idempotent


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("assert 3 == 4", "assert 17 == 4"),
        ("expected:<abc> but was:<abd>", "expected:<x> but was:<yyyy>"),
        ("at com.foo.Bar(Bar.java:42)", "at com.foo.Bar(Bar.java:1042)"),
        (
            "cannot open /tmp/pytest-of-a/pytest-1/x/f.txt",
            "cannot open /tmp/pytest-of-b/pytest-9/y",
        ),
        ("assert [1, 2] == []", "assert [4, 5, 6, 7] == []"),
        ("deadline at 09:15:02 missed", "deadline at 23:59:59.999 missed"),
    ],
)
def test_same_failure_same_fingerprint(a, b):
    assert fingerprint(a) == fingerprint(b)
    assert len(fingerprint(a)) == FINGERPRINT_LENGTH and int(fingerprint(a), 16) >= 0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("AssertionError: assert 3 == 4", "TimeoutError: assert 3 == 4"),
        ("assert 3 == 4", "assert 3 != 4"),
        ("at com.foo.Bar(Bar.java:42)", "at com.foo.Baz(Baz.java:42)"),
        ("main_test.go:12: got 3", "util_test.go:12: got 3"),
    ],
)
def test_different_failures_different_fingerprints(a, b):
    assert fingerprint(a) != fingerprint(b)


def test_fingerprint_is_stable():
    """Stored fingerprints are compared with new ones: the hash must never change."""
    assert fingerprint("AssertionError: assert 3 == 4") == fingerprint(
        "AssertionError: assert 9 == 1"
    )
    assert fingerprint("assert 3 == 4") == "1bf932ad2735a174"  # blake2b-64 of "assert <n> == <n>"
    assert fingerprint("") == "" and fingerprint("  \n") == ""


def test_failure_message_from_the_log_for_failures_only():
    log = "\n\n  Traceback (most recent call last):  \nboom\n"
    assert failure_message("F", "", log) == "Traceback (most recent call last):"
    assert failure_message("E", "", log) == "Traceback (most recent call last):"
    assert failure_message("M", "", "not run: the runner crashed") == "not run: the runner crashed"
    assert failure_message("P", "", log) == ""
    assert failure_message("D", "", log) == ""
    assert failure_message("P", "explicit", log) == "explicit"  # given, it is kept


def test_bad_input_is_made_storable_and_bounded():
    huge = "x" * (10 * 1024 * 1024)
    assert len(failure_message("F", huge)) == MESSAGE_LENGTH
    assert failure_message("F", huge).endswith("…")
    assert len(failure_message("F", "", huge + "\nsecond")) == MESSAGE_LENGTH
    assert first_line("\n" * 100_000 + "late") == ""  # looked for in the first 64 KiB only
    junk = bytes(range(256)).decode("latin-1")
    assert "\x00" not in failure_message("F", junk) and failure_message("F", junk)
    lone = "bad \ud800 surrogate"
    cleaned = clean(lone)
    cleaned.encode("utf-8")  # no UnicodeEncodeError
    assert cleaned == "bad \ufffd surrogate"
    assert fingerprint(lone) and fingerprint(junk) and fingerprint(huge)


def test_lengths_match_the_model():
    assert TestResult._meta.get_field("message").max_length == MESSAGE_LENGTH
    assert TestResult._meta.get_field("fingerprint").max_length == FINGERPRINT_LENGTH
