"""core/serializers.py: API answers scrub the errors they show, even one stored with a secret
before the scrubber existed."""

import pytest

from core.models import JobState
from tests.querygen.factories import make_run


@pytest.mark.django_db
def test_a_runs_api_answer_shows_a_stored_error_scrubbed(api_client):
    run = make_run(state=JobState.FAILED, error="connecting to postgres://u:old-Secret-42@h/d")
    answer = api_client.get(f"/api/v1/querygen/runs/{run.pk}/").json()
    assert answer["error"] == "connecting to postgres://u:***@h/d"
