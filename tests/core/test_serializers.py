"""core.serializers: request bodies of known fields only; API answers scrub the errors they
show, even one stored with a secret before the scrubber existed."""

import pytest
from rest_framework import serializers

from core.exceptions import AssayError
from core.models import JobState
from core.serializers import StrictSerializer
from tests.querygen.factories import make_run


class Form(StrictSerializer):
    name = serializers.CharField()


@pytest.mark.parametrize(
    ("body", "code"),
    [({"name": "a", "nmae": "typo"}, "unknown_field"), (["name"], "bad_request"),
     (None, "bad_request")],
)  # fmt: skip
def test_a_body_of_unknown_fields_or_no_object_is_refused(body, code):
    with pytest.raises(AssayError) as refused:
        Form(data=body).is_valid()
    assert refused.value.code == code


def test_a_body_of_known_fields_is_validated_as_usual():
    assert Form(data={"name": "a"}).is_valid()
    form = Form(data={})
    assert not form.is_valid() and "name" in form.errors


@pytest.mark.django_db
def test_a_runs_api_answer_shows_a_stored_error_scrubbed(api_client):
    run = make_run(state=JobState.FAILED, error="connecting to postgres://u:old-Secret-42@h/d")
    answer = api_client.get(f"/api/v1/querygen/runs/{run.pk}/").json()
    assert answer["error"] == "connecting to postgres://u:***@h/d"
