"""The crash tester's admin: crash tests read (their failed checks counted, their page linked),
never added or edited, deletable."""

from __future__ import annotations

import pytest

from crashtest.models import CrashRun
from tests.crashtest.test_views import failing_report, make_run

pytestmark = pytest.mark.django_db


@pytest.mark.db_dependent  # the failed checks come from the report's JSON, in SQL
def test_crash_tests_are_read_here(admin_client):
    run = make_run(failing_report(), state="failed", kills=21, broker="redis")
    listing = admin_client.get("/admin/crashtest/crashrun/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "manage.py crashtest" in html
    assert '<td class="field-kills">21</td>' in html and '<td class="field-failed">1</td>' in html
    assert f'<a href="/crashtest/{run.pk}/">timeline and checks</a>' in html

    shown = admin_client.get(f"/admin/crashtest/crashrun/{run.pk}/change/")
    assert shown.status_code == 200
    html = shown.content.decode()
    assert "redis" in html and f"/crashtest/{run.pk}/report.json" in html
    assert "SIGKILL group 1234" not in html  # the report is linked, not dumped

    assert admin_client.get("/admin/crashtest/crashrun/add/").status_code == 403
    answer = admin_client.post(f"/admin/crashtest/crashrun/{run.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302 and not CrashRun.objects.exists()
