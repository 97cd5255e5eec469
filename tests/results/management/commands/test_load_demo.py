from __future__ import annotations

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command


def _load_demo(*args: str) -> str:
    out = StringIO()
    call_command("load_demo", "--no-progress", *args, stdout=out)
    return out.getvalue()


@pytest.mark.db_dependent
@pytest.mark.django_db
def test_load_demo_creates_three_daily_runs_with_missing_tests(settings, tmp_path) -> None:
    from results.models import TestResult, TestRun
    from results.services.runs import today

    settings.VAR_DIR = tmp_path
    output = _load_demo()
    assert len(list((tmp_path / "demo").glob("daily_*/*"))) == 9
    assert output.count(" results (") == 9  # one summary line per file

    day = today()
    names = [f"daily_{day - timedelta(days=back)}" for back in (2, 1, 0)]
    runs = {run.name: run for run in TestRun.objects.all()}
    assert sorted(runs) == names
    assert all(runs[name].prefix == "daily" for name in names)
    first, middle, last = (runs[name].status_counts for name in names)
    assert "M" not in first
    assert middle["M"] == 1
    assert last["M"] == 25
    statuses = set(TestResult.objects.values_list("status", flat=True).distinct())
    assert statuses == {"P", "F", "E", "D", "M"}
    # The counts cached on the runs agree with the rows.
    for name in names:
        rows = Counter(TestResult.objects.filter(run__name=name).values_list("status", flat=True))
        assert dict(rows) == runs[name].status_counts
    assert sum(first.values()) == sum(last.values())  # M records stand in for the absent

    # Idempotent: a second start loads nothing.
    total = TestResult.objects.count()
    assert "not loaded" in _load_demo()
    assert TestResult.objects.count() == total
    # --force loads again over the same runs, without duplicates.
    assert "Demo loaded" in _load_demo("--force")
    assert TestResult.objects.count() == total
    assert TestRun.objects.count() == 3
