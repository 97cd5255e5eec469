"""core.filters: the API's query-parameter filters, strict where django-filter's are lenient."""

import pytest
from django.core.exceptions import ValidationError

from core.filters import StrictBooleanField


@pytest.mark.parametrize(
    ("word", "value"),
    [("true", True), ("1", True), ("False", False), ("0", False), ("", None), (None, None)],
)
def test_booleans_are_true_false_or_not_given(word, value):
    assert StrictBooleanField(required=False).clean(word) is value


@pytest.mark.parametrize("word", ["yes", "null", "%j", "100%"])
def test_any_other_word_is_refused_in_a_sentence(word):
    with pytest.raises(ValidationError) as refused:
        StrictBooleanField(required=False).clean(word)
    error = refused.value.error_list[0]
    # django-filter %-formats the message with its params: a '%' in the value must not break it
    assert error.message % error.params == f"{word!r}: use true or false."
