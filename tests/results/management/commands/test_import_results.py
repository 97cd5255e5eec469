import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from results.models import TestResult, TestRun
from tests.results.factories import BAD_INPUTS
from tests.results.management.commands.factories import PDK, run

ROOT = Path(__file__).resolve().parents[4]

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def test_import_results_with_globs_and_a_summary_line_per_file(tmp_path):
    (tmp_path / "a.pdk").write_text(PDK)
    (tmp_path / "b.json").write_text(
        '{"format": "assay-results/1", "run": "daily_2026-11-01", "project": "proj",'
        ' "host": "h2", "results": [{"name": "x.y", "status": "E"}]}'
    )
    out = run("import_results", str(tmp_path / "*"))
    assert f"{tmp_path / 'a.pdk'}: pdk -> daily_2026-11-01: 2 results (F=1 P=1)" in out
    assert "b.json: json -> daily_2026-11-01: 1 results (E=1)" in out
    assert "2 file(s) imported, 0 refused" in out
    assert TestRun.objects.get().status_counts == {"P": 1, "F": 1, "E": 1}
    assert TestResult.objects.get(test_name="pkg.mod.test_bad").log == "first line\nsecond line\n"


def test_a_bad_file_is_refused_alone_and_the_command_fails(tmp_path):
    (tmp_path / "a.pdk").write_text(PDK)
    (tmp_path / "b.xml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 file\\(s\\) refused"):
        call_command("import_results", str(tmp_path / "a.pdk"), str(tmp_path / "b.xml"),
                     stdout=out, stderr=err)  # fmt: skip
    assert "REFUSED" in err.getvalue() and "b.xml" in err.getvalue()
    assert TestResult.objects.count() == 2  # a.pdk landed


def test_import_results_reports_reimports(tmp_path):
    (tmp_path / "a.pdk").write_text(PDK)
    run("import_results", str(tmp_path / "a.pdk"))
    out = run("import_results", str(tmp_path / "a.pdk"))
    assert "0 new, 2 re-imported" in out


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(CommandError, match="no file matches"):
        run("import_results", str(tmp_path / "*.xml"))


def test_run_option_is_the_default_run(tmp_path):
    (tmp_path / "r.json").write_text(
        '{"format": "assay-results/1", "results": [{"name": "t", "status": "P"}]}'
    )
    run("import_results", "--run", "nightly-7", "--project", "p", str(tmp_path / "r.json"))
    assert TestResult.objects.get().run.name == "nightly-7"


def test_warnings_are_printed(tmp_path):
    (tmp_path / "w.pdk").write_text("test_run=r\ntest_name=t\nstatus=P\ncolour=blue\nEND\n")
    err = io.StringIO()
    call_command("import_results", str(tmp_path / "w.pdk"), stdout=io.StringIO(), stderr=err)
    assert "warning: line 4: unknown field 'colour' ignored" in err.getvalue()


JSON_DOC = '{"format": "assay-results/1", "results": [{"name": "c.t", "status": "P"}]}'
# A real file on which the JUnit importer raises ValueError (pyexpat: "multi-byte encodings are
# not supported"), not a ParseError: the command must not stop there.
SHIFT_JIS_XML = (
    b'<?xml version="1.0" encoding="shift_jis"?><testsuite><testcase name="a"/></testsuite>'
)


def test_a_file_whose_importer_raises_is_refused_in_one_line_and_the_rest_land(tmp_path):
    (tmp_path / "a.pdk").write_text(PDK)
    (tmp_path / "b.xml").write_bytes(SHIFT_JIS_XML)
    (tmp_path / "c.json").write_text(JSON_DOC)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 file\\(s\\) refused"):
        call_command("import_results", "--run", "r", str(tmp_path / "*"), stdout=out, stderr=err)
    assert "2 file(s) imported, 1 refused" in out.getvalue()
    [refused] = [line for line in err.getvalue().splitlines() if "b.xml" in line]
    assert refused.startswith("REFUSED ") and "ValueError: multi-byte encodings" in refused
    assert "Traceback" not in err.getvalue()
    assert sorted(TestRun.objects.values_list("name", flat=True)) == ["daily_2026-11-01", "r"]


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_import_prints_its_summary_and_fails(tmp_path):
    """Ctrl-C (a real SIGINT) while the second file is being read: the first has landed, the
    summary is printed, the exit status is 130. The second file is a FIFO, so the command is
    certainly reading it when the signal comes."""
    import os
    import signal
    import threading

    (tmp_path / "a.pdk").write_text(PDK)
    os.mkfifo(tmp_path / "b.pdk")
    (tmp_path / "c.json").write_text(JSON_DOC)
    done = threading.Event()
    main = threading.main_thread().ident

    def interrupt_the_reader() -> None:
        with open(tmp_path / "b.pdk", "wb"):  # returns once the command opened it to read
            signal.pthread_kill(main, signal.SIGINT)
            done.wait(timeout=120)  # keep it open: the read ends by the signal, not EOF

    writer = threading.Thread(target=interrupt_the_reader)
    writer.start()
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(CommandError, match="interrupted: 2 file\\(s\\) not imported") as exc:
            call_command("import_results", "--run", "r", str(tmp_path / "*"), stdout=out,
                         stderr=err)  # fmt: skip
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped the command without a summary")
    finally:
        signal.signal(signal.SIGINT, previous)
        done.set()
        writer.join()
    assert exc.value.returncode == 130
    assert "1 file(s) imported, 0 refused" in out.getvalue()
    assert list(TestRun.objects.values_list("name", flat=True)) == ["daily_2026-11-01"]


def test_the_server_operator_may_change_a_valuable_run(tmp_path):
    (tmp_path / "a.pdk").write_text(PDK)
    run("import_results", str(tmp_path / "a.pdk"))
    TestRun.objects.update(valuable=True)
    out = run("import_results", str(tmp_path / "a.pdk"))
    assert "0 new, 2 re-imported" in out


def test_a_recurring_run_dated_ahead_is_refused_in_one_line(tmp_path):
    (tmp_path / "a.pdk").write_text(PDK.replace("daily_2026-11-01", "daily_9999-12-31"))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 file\\(s\\) refused"):
        call_command("import_results", str(tmp_path / "a.pdk"), stdout=io.StringIO(), stderr=err)
    assert "daily_9999-12-31 is dated 9999-12-31, more than a day after today" in err.getvalue()
    assert not TestRun.objects.exists()


def test_import_results_fills_the_build(tmp_path):
    (tmp_path / "b.json").write_text(
        '{"format": "assay-results/1", "series": "from-file", "attributes": {"os": "linux"},'
        ' "results": [{"name": "x.y", "status": "P"}]}'
    )
    run(
        "import_results", str(tmp_path / "b.json"), "--run", "build-42", "--series", "nightly",
        "--branch", "main", "--commit", "abc123", "--build-url", "https://ci.example.com/42",
        "--started-at", "2026-11-02T09:00:00+01:00", "--ended-at", "2026-11-02T09:30:00+01:00",
        "--attr", "env=prod", "--attr", "python=3.12",
    )  # fmt: skip
    built = TestRun.objects.get(name="build-42")
    assert (built.series, built.branch, built.commit) == ("nightly", "main", "abc123")
    assert built.build_url == "https://ci.example.com/42"
    assert built.started_at.isoformat() == "2026-11-02T08:00:00+00:00"
    assert built.ended_at.isoformat() == "2026-11-02T08:30:00+00:00"
    assert built.attributes == {"os": "linux", "env": "prod", "python": "3.12"}


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--build-url", "ci/42", "build URL"),
        ("--started-at", "soon", "started_at"),
        ("--attr", "env", "KEY=VALUE"),
        ("--series", "a/b", "series"),
    ],
)
def test_import_results_refuses_bad_build_options_in_one_line(tmp_path, option, value, message):
    (tmp_path / "a.pdk").write_text(PDK)
    with pytest.raises(CommandError, match=message) as info:
        call_command("import_results", str(tmp_path / "a.pdk"), option, value,
                     stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    assert "\n" not in str(info.value)
    assert not TestRun.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "line", "says"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)  # noqa: E501
def test_bad_input_is_one_line_naming_the_file_and_line_and_the_next_file_lands(
    tmp_path, name, data, line, says
):
    (tmp_path / name).write_bytes(data)
    (tmp_path / "z.pdk").write_text(PDK)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 file\\(s\\) refused"):
        call_command("import_results", str(tmp_path / name), str(tmp_path / "z.pdk"),
                     stdout=out, stderr=err)  # fmt: skip
    where = f"{tmp_path / name}:{line}: " if line else f"{tmp_path / name}: "
    [refused] = [text for text in err.getvalue().splitlines() if "REFUSED" in text]
    assert refused.startswith(f"REFUSED {where}") and says in refused
    assert "1 file(s) imported, 1 refused" in out.getvalue()
    assert set(TestRun.objects.values_list("name", flat=True)) == {"daily_2026-11-01"}


@pytest.mark.parametrize("option", ["--project", "--host", "--context"])
def test_an_option_that_is_not_text_is_refused(tmp_path, option):
    # A non-UTF-8 byte in an argument reaches Python as a lone surrogate (surrogateescape).
    (tmp_path / "r.pdk").write_text("test_run=r\ntest_name=t\nstatus=P\nEND\n")
    with pytest.raises(CommandError):
        run("import_results", option, "a\udcffb", str(tmp_path / "r.pdk"))
    assert not TestResult.objects.exists()


def test_a_junit_time_before_1970_is_no_time_at_all(tmp_path):
    # googletest writes 1970-01-01 for tests that never ran, Go's zero time is the year 1: the
    # edge of the calendar with an offset is one of those, not an error.
    (tmp_path / "r.xml").write_text(
        '<testsuite name="s" timestamp="0001-01-01T00:00:00+14:00">'
        '<testcase classname="c" name="t"/></testsuite>'
    )
    run("import_results", "--run", "r", str(tmp_path / "r.xml"))
    assert TestResult.objects.get().start_time is None


def test_a_deeper_limit_is_a_setting(tmp_path, settings):
    depth = 300
    (tmp_path / "deep.xml").write_text(
        '<testsuite name="s">' * depth
        + '<testcase classname="c" name="t"/>'
        + "</testsuite>" * depth
    )
    with pytest.raises(CommandError):
        run("import_results", "--run", "r", str(tmp_path / "deep.xml"))
    settings.ASSAY_MAX_XML_DEPTH = 400
    run("import_results", "--run", "r", str(tmp_path / "deep.xml"))
    assert TestResult.objects.get().test_name == "c.t"


HEAVY = (
    "numpy", "pyarrow", "sqlglot", "duckdb", "rest_framework.serializers", "psycopg", "yaml",
    # the admin's modules load with the URLs (SimpleAdminConfig), which a command never needs
    "results.admin", "datagen.admin", "querygen.admin", "django.contrib.admin.views.main",
    # results.services loads each name from its module when used (lazy_loader): an import
    # needs neither the e-mails of notify (through expected) nor the read paths
    "results.services.notify", "results.services.expected", "results.selectors", "smtplib",
    # a parser loads with its format's first file: a pdk log needs no XML nor JSON schema
    "results.importers.junit", "defusedxml", "results.importers.jsonfmt", "fastjsonschema",
    # a progress bar loads when one is shown (one file has none); a job's work when it runs
    "tqdm", "datagen.services.runs", "datagen.services.chunks", "results.services.purge",
)  # fmt: skip


def test_import_results_loads_none_of_the_heavy_libraries(tmp_path):
    """A CI job imports one small file as a whole process: start-up is all its time. The
    tasks and models of every app load at start-up (the admin with the URLs only), so none of
    them may import numpy,
    pyarrow, sqlglot, duckdb (datagen, querygen), DRF's serializers (the API's), psycopg and
    yaml (the gate's runner) on a SQLite site, nor the services and parsers a pdk log does not
    use."""
    (tmp_path / "one.pdk").write_text("test_run=r\ntest_name=t\nstatus=P\nEND\n")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(ASSAY_DEV="1", ASSAY_VAR_DIR=str(tmp_path / "var"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'assay.sqlite3'}")  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    script = (
        "import sys, runpy; sys.argv = ['manage.py', 'import_results', '--no-progress', "
        f"{str(tmp_path / 'one.pdk')!r}]\n"
        "try:\n    runpy.run_path('manage.py', run_name='__main__')\n"
        "finally:\n"
        f"    print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert "1 file(s) imported, 0 refused" in done.stdout, done.stderr
    assert "LOADED []" in done.stdout
