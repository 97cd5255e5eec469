import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from results.models import TestResult, TestRun
from tests.results.management.commands.factories import PDK, run

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
