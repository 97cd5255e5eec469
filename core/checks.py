"""System checks at start: every manage.py command and the web server refuse to run with a bad
environment (saying which variable is wrong) or with a job model no app registered."""

from django.conf import settings
from django.core.checks import Error, register

from core.registry import unregistered_job_models


@register()
def check_settings(app_configs, **kwargs):
    return [
        Error(message, hint="Fix the environment variable and start again.", id=f"core.E{n:03d}")
        for n, message in enumerate(getattr(settings, "SETTINGS_ERRORS", []), start=1)
    ]


@register()
def check_jobs_registered(app_configs, **kwargs):
    """A JobBase model whose app registered no handler would sit queued forever."""
    return [
        Error(
            f"{model._meta.label} is a job model, but no app registered how to run it.",
            hint="Call core.registry.register_job() for it in its app's tasks.py.",
            id="core.E100",
        )
        for model in unregistered_job_models()
    ]
