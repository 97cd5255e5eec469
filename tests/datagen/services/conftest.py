"""What the tests of datagen's services share: a small spec and a SQLite load target
(tests/datagen/services/factories.py runs a run's jobs in this process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import Engine
from datagen.generator import parse_spec
from tests.datagen.generator.factories import two_tables


@pytest.fixture
def spec():
    return parse_spec(two_tables())


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine.objects.create(name="target", kind="sqlite", path=str(tmp_path / "t.sqlite"))
