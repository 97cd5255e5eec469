from django.apps import AppConfig

FLAKY_SCHEDULE_NAME = "assay.refresh_flaky_all"


def ensure_schedules(**kwargs) -> None:
    """post_migrate: a nightly flakiness refresh catches what no import queues (deleted runs,
    a changed ASSAY_HISTORY_RUNS or ASSAY_FLAKY_FLIPS)."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=FLAKY_SCHEDULE_NAME,
        defaults={
            "func": "results.tasks.refresh_flaky_all",
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
        },
    )


class ResultsConfig(AppConfig):
    name = "results"
    verbose_name = "Test results"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(ensure_schedules, sender=self)
