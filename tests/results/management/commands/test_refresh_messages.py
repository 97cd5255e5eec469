import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from results.models import TestResult
from tests import factories

pytestmark = pytest.mark.django_db


def test_command_fills_messages_and_says_how_many(capsys):
    run = factories.run("old")
    factories.result(run, "t.a", "F", log="assert 1 == 2\nmore")
    factories.result(run, "t.b", "E")
    call_command("refresh_messages", "--run", "old", "--chunk", "1")
    out = capsys.readouterr()
    assert "1 result(s) given a message and fingerprint; 1 failing result(s) have no log" in out.out
    assert "result" in out.err  # the progress bar
    assert TestResult.objects.get(test_name="t.a").message == "assert 1 == 2"
    with pytest.raises(CommandError, match="No run is named 'nope'"):
        call_command("refresh_messages", "--run", "nope", "--no-progress")
