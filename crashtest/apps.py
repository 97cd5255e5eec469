from django.apps import AppConfig


class CrashtestConfig(AppConfig):
    name = "crashtest"
    verbose_name = "Crash testing"
    default_auto_field = "django.db.models.BigAutoField"
