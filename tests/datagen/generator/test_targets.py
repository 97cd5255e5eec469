"""datagen/generator/targets.py: a Target never shows its password."""

from __future__ import annotations

import pyarrow as pa
import pytest

from datagen.generator import loaders
from datagen.generator.targets import ConnectionFailed, Target


def test_target_repr_and_errors_hide_the_password():
    target = Target.postgresql("host=127.0.0.1 port=1 user=u password=hunter2 dbname=d")
    assert "hunter2" not in repr(target)
    assert "dbname=d" in target.describe()
    url = Target.postgresql("postgresql://u:hunter2@127.0.0.1:1/d")
    assert "hunter2" not in repr(url)
    with pytest.raises(ConnectionFailed) as failure:  # nothing listens on port 1
        loaders.load_table(target, "t", pa.table({"v": [1]}))
    assert "hunter2" not in str(failure.value)
    assert "hunter2" not in str(failure.value.__cause__)
    with pytest.raises(ValueError, match="unknown engine"):
        Target("oracle", "x")  # type: ignore[arg-type]
