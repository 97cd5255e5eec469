from django.apps import AppConfig


class DatagenConfig(AppConfig):
    name = "datagen"
    verbose_name = "Data generation"
    default_auto_field = "django.db.models.BigAutoField"
