from django.apps import AppConfig
from django.db.models.signals import post_migrate


class QuerygenConfig(AppConfig):
    name = "querygen"
    verbose_name = "Random-query testing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from querygen.services.runs import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self)
