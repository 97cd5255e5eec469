"""core/templatetags/secrets.py: pages scrub the errors they show, even one stored with a
secret before the scrubber existed."""

import pytest

from core.models import JobState
from tests.querygen.factories import make_run

OLD = "cannot connect (host=h sslpassword=old-Secret-42 dbname=d)"


@pytest.mark.django_db
def test_a_run_page_shows_a_stored_error_scrubbed(client):
    run = make_run(state=JobState.FAILED, error=OLD)
    page = client.get(f"/querygen/runs/{run.pk}/")
    assert page.status_code == 200
    assert b"old-Secret-42" not in page.content
    assert b"sslpassword=***" in page.content


def test_the_filter_shows_nothing_for_nothing():
    from core.templatetags.secrets import scrub

    assert scrub(None) == "" and scrub("") == ""
