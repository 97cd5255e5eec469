"""The bulk write stores what Django's own save() stores: the same text on SQLite (times as
naive UTC, JSON as json.dumps writes it), the same values on PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection, transaction

from results.models import TestResult
from results.services.bulk import COLUMNS, write_results
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]

PLUS_TWO = timezone(timedelta(hours=2))
CASES = [
    # start, end, tda, tra
    (datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC), datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC),
     {"threads": "4"}, {}),
    (datetime(2026, 3, 1, 14, 0, 0, tzinfo=PLUS_TWO), None,
     {}, {"rows": 10, "ok": True, "quote": 'a"b\\c', "text": "naïve ☃"}),
    (None, datetime(1, 1, 2, tzinfo=UTC), {"nested": {"a": [1, 2.5, None]}}, {"k": ""}),
]  # fmt: skip


def _stored(run_id: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT start_time, end_time, tda, tra, imported_at FROM results_testresult "
            "WHERE run_id = %s ORDER BY test_name",
            [run_id],
        )
        return cursor.fetchall()


@pytest.mark.parametrize("formatted", [False, True])
def test_bulk_rows_are_stored_as_django_stores_them(formatted):
    from results.services.bulk import formats

    project = factories.project()
    by_orm, by_bulk = factories.run("by-orm"), factories.run("by-bulk")
    now = datetime(2026, 3, 2, 8, 30, tzinfo=PLUS_TWO)
    time, to_json = formats()
    rows = []
    for n, (start, end, tda, tra) in enumerate(CASES):
        TestResult.objects.create(
            run=by_orm, project=project, test_name=f"t{n}", status="P", start_time=start,
            end_time=end, tda=tda, tra=tra, imported_at=now,
        )  # fmt: skip
        values = dict.fromkeys(COLUMNS, "")
        values.update(
            run_id=by_bulk.pk, project_id=project.pk, test_name=f"t{n}", status="P",
            start_time=start, end_time=end, duration=None, log_size=0, tda=tda, tra=tra,
            imported_at=now, retries=0,
        )  # fmt: skip
        if formatted:
            for column in ("start_time", "end_time", "imported_at"):
                values[column] = time(values[column])
            values["tda"], values["tra"] = to_json(tda), to_json(tra)
        rows.append(tuple(values[c] for c in COLUMNS))
    with transaction.atomic():
        write_results(rows, upsert=False, formatted=formatted)
    assert _stored(by_bulk.pk) == _stored(by_orm.pk)
    read = TestResult.objects.filter(run=by_bulk).order_by("test_name")
    assert [(r.start_time, r.end_time, r.tda, r.tra) for r in read] == CASES
