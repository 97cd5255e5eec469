from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Assay core"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate
        from django.utils.module_loading import autodiscover_modules
        from django_q.signals import post_spawn

        from core import checks  # noqa: F401  (registers the system checks)
        from core.registry import sync_schedules
        from core.roles import sync_roles

        # Each app's tasks.py registers its jobs and schedules (core.registry).
        autodiscover_modules("tasks")
        post_migrate.connect(sync_schedules, sender=self)
        post_migrate.connect(sync_roles, sender=self, dispatch_uid="assay.sync_roles")
        from core.tasks import on_worker_spawn

        post_spawn.connect(on_worker_spawn, dispatch_uid="assay.release_dead_workers")
