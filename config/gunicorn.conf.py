"""gunicorn's settings for serving Assay for real (README "Serving for real"):

    gunicorn -c config/gunicorn.conf.py config.wsgi

Each from the environment, like config/settings.py. WhiteNoise (in Django's middleware) serves
the static files, so gunicorn alone serves the whole site behind a TLS proxy.
"""

from __future__ import annotations

import os
import sys

# gunicorn serves production: the settings then need a SECRET_KEY of the environment's, never
# the development one a checkout makes under var/ (config/settings.py, ASSAY_ENV).
os.environ.setdefault("ASSAY_ENV", "production")


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw.strip() else default
    except ValueError:
        sys.exit(f"{name}={raw!r} is not an integer")
    if value < minimum:
        sys.exit(f"{name}={value} must be at least {minimum}")
    return value


# Behind the TLS proxy on the same machine by default; 0.0.0.0:8000 for a proxy elsewhere.
bind = os.environ.get("ASSAY_WEB_BIND", "127.0.0.1:8000").split(",")
# Processes: a request holds its worker for its whole length (an import is parsed in it).
workers = _env_int("ASSAY_WEB_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 8))
threads = _env_int("ASSAY_WEB_THREADS", 1)
# A worker silent this long is killed and replaced: room for the largest import's parse.
timeout = _env_int("ASSAY_WEB_TIMEOUT", 300)
graceful_timeout = 30  # on SIGTERM, requests under way get this long to finish
keepalive = 5
# Access and error logs to stdout/stderr: the service manager keeps them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The proxies whose X-Forwarded-* headers are believed (the TLS proxy).
forwarded_allow_ips = os.environ.get("ASSAY_WEB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Bounds what a slow leak can grow to: each worker is replaced after about this many requests.
max_requests = 2000
max_requests_jitter = 200


def on_starting(server) -> None:
    """Django's system checks once, before any worker starts, as every manage.py command does:
    a bad environment (a missing SECRET_KEY) stops the server naming the variable."""
    import django
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError
    from django.db import connections

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    try:
        call_command("check")
    except SystemCheckError as exc:
        sys.exit(str(exc))
    finally:
        connections.close_all()  # the workers open their own
