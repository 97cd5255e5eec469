"""Settings validated at start: every manage.py command and the web server refuse to run with
a bad environment, and say which variable is wrong."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_settings(app_configs, **kwargs):
    return [
        Error(message, hint="Fix the environment variable and start again.", id=f"core.E{n:03d}")
        for n, message in enumerate(getattr(settings, "SETTINGS_ERRORS", []), start=1)
    ]
