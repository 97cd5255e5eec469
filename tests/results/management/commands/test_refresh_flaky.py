import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from results.models import FlakyTest
from tests.results.factories import flaky_days, flips

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def test_command_refreshes_named_or_all_prefixes(capsys):
    flaky_days({"t.x": "PFPF"})
    call_command("refresh_flaky", "daily", "--no-progress")
    assert "daily: 1 flaky test(s) in 4 run(s) (up to daily_2026-11-04)" in capsys.readouterr().out
    FlakyTest.objects.all().delete()
    call_command("refresh_flaky", "--no-progress")
    assert flips() == {"t.x": 3}
    with pytest.raises(CommandError, match="'weekly' is not a recurring prefix"):
        call_command("refresh_flaky", "weekly", "--no-progress")
