import pytest
from django.core.management.base import CommandError

from results.models import TestResult
from tests.results.management.commands.factories import PDK, run

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def test_delete_runs_and_clean_results_commands(tmp_path):
    (tmp_path / "a.pdk").write_text(PDK)
    run("import_results", str(tmp_path / "a.pdk"))
    out = run("delete_runs", "--wild", "--count", "daily_*")
    assert "would delete 1 run(s) holding 2 result(s)" in out
    with pytest.raises(CommandError, match="add --wild"):
        run("delete_runs", "daily_*")
    out = run("delete_runs", "daily_latest")
    assert "deleted 1 run(s) holding 2 result(s)" in out
    out = run("clean_results", "--no-progress")
    assert "removed 2 result(s) of 1 run(s)" in out
    assert not TestResult.objects.exists()
    with pytest.raises(CommandError, match="--chunk must be at least 1"):
        run("clean_results", "--chunk", "0")
