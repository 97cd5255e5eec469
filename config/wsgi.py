import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# The URLs (views, the admin's modules) load now, while the server starts, not in its first
# request: a CI job's first import is answered as fast as the next.
get_resolver().url_patterns  # noqa: B018
