import pytest
from django.core.management.base import CommandError

from results.models import ExpectedTest
from tests.results.management.commands.factories import PDK, run

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def test_gen_and_check_expected_commands(tmp_path):
    (tmp_path / "a.pdk").write_text(PDK)
    run("import_results", str(tmp_path / "a.pdk"))
    assert "2 expected test(s) added from daily_2026-11-01" in run(
        "gen_expected", "daily", "daily_latest"
    )
    out = run("check_expected", "daily", "daily_2026-11-02")
    assert "daily_2026-11-02: 2 missing test(s) entered" in out
    assert ExpectedTest.objects.count() == 2
    with pytest.raises(CommandError, match="No tests are expected in class 'weekly'"):
        run("check_expected", "weekly", "daily_latest")
