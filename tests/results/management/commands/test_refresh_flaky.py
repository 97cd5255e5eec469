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
    with pytest.raises(CommandError, match="no run is in the series 'weekly'"):
        call_command("refresh_flaky", "weekly", "--no-progress")


def test_command_refreshes_a_series_of_builds(capsys):
    from tests import factories

    for i, status in enumerate("PFPF"):
        run = factories.run(f"build-{i}", series="nightly")
        factories.result(run, "t.x", status)
    call_command("refresh_flaky", "nightly", "--no-progress")
    assert "nightly: 1 flaky test(s) in 4 run(s) (up to build-3)" in capsys.readouterr().out
    assert flips("nightly") == {"t.x": 3}
