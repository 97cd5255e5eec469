from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DatagenConfig(AppConfig):
    name = "datagen"
    verbose_name = "Data generation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from datagen.services.runs import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self)
