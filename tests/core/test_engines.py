"""core.engines.get_engine: the one lookup datagen and querygen share."""

import pytest

from core.engines import get_engine
from core.exceptions import AssayError
from core.models import Engine

pytestmark = pytest.mark.django_db


def test_an_engine_by_name_and_a_missing_one_named_with_the_others() -> None:
    with pytest.raises(AssayError, match=r"none \(add one in the admin\)"):
        get_engine("ref")
    lite = Engine.objects.create(name="ref", kind="sqlite", path="/tmp/ref.sqlite3")
    Engine.objects.create(name="other", kind="duckdb", path="/tmp/o.duckdb")
    assert get_engine("ref") == lite
    with pytest.raises(AssayError) as raised:
        get_engine("nope", "reference")
    assert raised.value.code == "engine_not_found"
    assert raised.value.detail == (
        "No engine named 'nope' for the reference; configured engines: other, ref."
    )
