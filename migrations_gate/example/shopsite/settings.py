"""Settings that take the database from the environment the gate sets: libpq's variables
(PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD) or ASSAY_GATE_SQLITE, a SQLite file."""

import os

SECRET_KEY = "example-only"  # noqa: S105 - an example project, never served
INSTALLED_APPS = ["shop"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("ASSAY_GATE_SQLITE"):
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["ASSAY_GATE_SQLITE"]}
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "shop"),
            "HOST": os.environ.get("PGHOST", ""),
            "PORT": os.environ.get("PGPORT", ""),
            "USER": os.environ.get("PGUSER", ""),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
        }
    }
