from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Assay core"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core import checks  # noqa: F401  (registers the settings check)
        from core.jobs import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self)
