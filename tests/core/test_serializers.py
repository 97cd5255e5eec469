"""core.serializers: request bodies of known fields only."""

import pytest
from rest_framework import serializers

from core.exceptions import AssayError
from core.serializers import StrictSerializer


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
