from django.apps import AppConfig


class MigrationsGateConfig(AppConfig):
    name = "migrations_gate"
    verbose_name = "Migration gate"
    default_auto_field = "django.db.models.BigAutoField"
