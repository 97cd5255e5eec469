from django.apps import AppConfig


class QuerygenConfig(AppConfig):
    name = "querygen"
    verbose_name = "Random-query testing"
    default_auto_field = "django.db.models.BigAutoField"
