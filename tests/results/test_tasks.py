"""results.tasks: the django-q entry points and the schedules the app registers."""

import pytest

from results import tasks
from results.models import FlakinessJob
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def test_the_scheduled_task_queues_every_series(django_capture_on_commit_callbacks):
    factories.run("daily_2026-11-01")
    factories.run("build-7", series="nightly")
    factories.run("pr-1")  # no series: no history to be flaky in
    with django_capture_on_commit_callbacks(execute=False):
        assert tasks.refresh_flaky_all() == 2
        assert tasks.refresh_flaky_all() == 0
    assert sorted(FlakinessJob.objects.values_list("series", flat=True)) == ["daily", "nightly"]


def test_a_nightly_refresh_is_scheduled_after_migrate():
    from django_q.models import Schedule

    from results.tasks import FLAKY_SCHEDULE_NAME

    schedule = Schedule.objects.get(name=FLAKY_SCHEDULE_NAME)
    assert schedule.func == "results.tasks.refresh_flaky_all"
    assert schedule.schedule_type == Schedule.DAILY
