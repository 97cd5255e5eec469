"""Every setting comes from the environment, read here and nowhere else.

Defaults need nothing installed: SQLite under var/, django-q's ORM broker, console e-mail.
Bad values do not crash the import of this module; they are collected in SETTINGS_ERRORS and
reported by a system check (core.checks) so every manage.py command stops with a clear message.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ASSAY_VAR_DIR", BASE_DIR / "var"))

SETTINGS_ERRORS: list[str] = []


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    SETTINGS_ERRORS.append(f"{name}={raw!r} is not a boolean (use true or false)")
    return default


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        SETTINGS_ERRORS.append(f"{name}={raw!r} is not an integer")
        return default
    if value < minimum:
        SETTINGS_ERRORS.append(f"{name}={value} must be at least {minimum}")
        return default
    return value


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = _env_bool("DEBUG", False)

# Production or development (README "Configuration"): production needs a SECRET_KEY of its own;
# config/gunicorn.conf.py sets production, and so does a DATABASE_URL of your own unless
# ASSAY_ENV=development (or ASSAY_DEV=1, or DEBUG=true) says otherwise. A checkout on its
# embedded defaults (SQLite under var/) is development: `make run` and every README command
# work there without an environment.
ASSAY_ENV = os.environ.get("ASSAY_ENV", "").strip().lower()
if ASSAY_ENV not in ("", "development", "production"):
    SETTINGS_ERRORS.append(f"ASSAY_ENV={ASSAY_ENV!r} is not development or production")
    ASSAY_ENV = "production"  # the safe reading of a typo
if not ASSAY_ENV:
    _development = DEBUG or os.environ.get("ASSAY_DEV") or not os.environ.get("DATABASE_URL")
    ASSAY_ENV = "development" if _development else "production"


def _development_secret(path: Path) -> str:
    """A random key made once per var/ directory and kept there (mode 0600), so the web
    server, the workers and every command of a checkout sign alike (django-q's tasks, sessions)
    and logins survive a restart. Made race-free: several processes start at once."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(tmp, path)  # atomic and never replaces: the first process's key wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEV_SECRET_KEY_FILE = VAR_DIR / "dev-secret-key"
if not SECRET_KEY:
    if "PYTEST_VERSION" in os.environ:
        SECRET_KEY = "insecure-test-key"  # noqa: S105 - the tests write nothing under var/
    elif ASSAY_ENV == "development":
        try:
            SECRET_KEY = _development_secret(DEV_SECRET_KEY_FILE)
            if not SECRET_KEY:
                raise OSError("the file is empty: delete it to make another")
        except OSError as exc:
            SETTINGS_ERRORS.append(f"SECRET_KEY is not set and {DEV_SECRET_KEY_FILE}: {exc}")
    else:
        SETTINGS_ERRORS.append(
            "SECRET_KEY is not set: production needs its own (ASSAY_ENV=production, gunicorn, "
            "or a DATABASE_URL without ASSAY_ENV=development); only a checkout on its embedded "
            f"defaults makes one ({DEV_SECRET_KEY_FILE})"
        )
    SECRET_KEY = SECRET_KEY or "unset"

ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # The admin's modules are loaded with the URLs (config/urls.py), not at start: a command
    # such as import_results (a CI job's whole process) never needs them.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_q",
    "core",
    "results",
    "datagen",
    "querygen",
    "migrations_gate",
    "crashtest",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.RejectNulMiddleware",
    "core.middleware.UploadLimitMiddleware",
    "core.middleware.DatabaseBusyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------
_default_db_url = f"sqlite:///{VAR_DIR / 'assay.sqlite3'}"
DATABASE_URL = os.environ.get("DATABASE_URL", "") or _default_db_url
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    if not _db.get("ENGINE"):
        raise ValueError("unknown scheme")
except Exception as exc:  # dj_database_url raises several types; all mean "bad URL"
    SETTINGS_ERRORS.append(
        f"DATABASE_URL is not a database URL we can use ({exc}); "
        "expected e.g. postgres://user:pass@host:5432/name or sqlite:///path/to/file"
    )
    _db = dj_database_url.parse(_default_db_url)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] and _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server read while a worker imports; busy timeout instead of
    # "database is locked" when two writers meet. IMMEDIATE: a transaction takes the write
    # lock at BEGIN, where SQLite's busy timeout waits for it; a deferred one that read first
    # fails at once when it upgrades to write while another writer holds the lock.
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {}).update(
        {
            "timeout": _env_int("ASSAY_SQLITE_BUSY_TIMEOUT", 20, minimum=1),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES = {"default": _db}
# A write that meets a busy database (SQLite's "database is locked") is retried for this long in
# all (core/db.py: retry_on_busy), then answered 503 with Retry-After (docs/operations.md).
ASSAY_BUSY_RETRY_SECONDS = _env_int("ASSAY_BUSY_RETRY_SECONDS", 10, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
try:
    import zoneinfo

    zoneinfo.ZoneInfo(TIME_ZONE)
except Exception:
    SETTINGS_ERRORS.append(f"TIME_ZONE={TIME_ZONE!r} is not a known time zone")
    TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` gathers the static files that WhiteNoise serves (README "Serving for real").
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request otherwise
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves what `collectstatic` gathered (with its compressed copies); until it has run,
# and in tests (which must see the sources as they are), the apps' own folders.
WHITENOISE_USE_FINDERS = "PYTEST_VERSION" in os.environ or not any(STATIC_ROOT.iterdir())
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Uploads (docs/operations.md): a request over ASSAY_MAX_UPLOAD_BYTES is refused from its
# Content-Length, a file over ASSAY_MAX_UPLOAD_FILE_BYTES once read (413, core/middleware.py);
# files are spooled to disk past ASSAY_UPLOAD_MEMORY_BYTES instead of held in memory.
ASSAY_MAX_UPLOAD_BYTES = _env_int("ASSAY_MAX_UPLOAD_BYTES", 200 * 1024 * 1024, minimum=1024)
ASSAY_MAX_UPLOAD_FILE_BYTES = _env_int("ASSAY_MAX_UPLOAD_FILE_BYTES", 100 * 1024 * 1024, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = ASSAY_MAX_UPLOAD_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = _env_int("ASSAY_UPLOAD_MEMORY_BYTES", 1024 * 1024, minimum=0)
FILE_UPLOAD_HANDLERS = [
    "core.middleware.FileSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_NUMBER_FILES = _env_int("ASSAY_MAX_UPLOAD_FILES", 1000, minimum=1)
# JUnit XML nested deeper than this is refused with a 400 (real files nest a few suites).
ASSAY_MAX_XML_DEPTH = _env_int("ASSAY_MAX_XML_DEPTH", 200, minimum=3)

# --- e-mail -------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    SETTINGS_ERRORS.append("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "assay@localhost")
# The site's address in links (e-mails, querygen's records, the gate's answers). In development,
# `make run` writes the address it serves (PORT=8765 make run) to var/base-url, so commands run
# in another shell link there too.
DEV_BASE_URL_FILE = VAR_DIR / "base-url"
ASSAY_BASE_URL = os.environ.get("ASSAY_BASE_URL", "").strip()
if ASSAY_ENV == "development" and "PYTEST_VERSION" not in os.environ and not ASSAY_BASE_URL:
    with contextlib.suppress(FileNotFoundError):
        ASSAY_BASE_URL = DEV_BASE_URL_FILE.read_text().strip()
ASSAY_BASE_URL = (ASSAY_BASE_URL or "http://127.0.0.1:8000").rstrip("/")
if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", ASSAY_BASE_URL):
    SETTINGS_ERRORS.append(f"ASSAY_BASE_URL={ASSAY_BASE_URL!r} is not an http(s):// address")
# Without a timeout a stuck mail server would hang notify_contacts forever.
EMAIL_TIMEOUT = _env_int("EMAIL_TIMEOUT", 30, minimum=1)
# check_expected on a recurring run (daily_...) then e-mails the contacts (docs/notifications.md).
# true: announce after check_expected of any class; or the classes that complete a run
# (e.g. "daily"): a run is announced once, so with two classes, name the one checked last.
_notify_raw = os.environ.get("ASSAY_NOTIFY_AFTER_CHECK_EXPECTED", "").strip()
ASSAY_NOTIFY_AFTER_CHECK_EXPECTED: bool | list[str] = (
    _env_bool("ASSAY_NOTIFY_AFTER_CHECK_EXPECTED", False)
    if _notify_raw.lower() in ("", "1", "0", "true", "false", "yes", "no", "on", "off")
    else _env_list("ASSAY_NOTIFY_AFTER_CHECK_EXPECTED", [])
)

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": ["core.filters.FilterBackend"],  # strict filters
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Assay API",
    "DESCRIPTION": "Test results, expected and missing tests, and jobs of the Assay QA platform.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and its docs pages are read like the rest: a login or a token while
    # ASSAY_PUBLIC_READ is off.
    "SERVE_PERMISSIONS": ["core.permissions.Readable"],
    # The errors every operation may give, in one place (core/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_shared_answers",
    ],
}

# --- django-q -----------------------------------------------------------------------------
# The database is the truth and django-q is the transport (docs/architecture.md): retry is
# longer than timeout so a slow task is not delivered twice while it still runs; the reaper
# catches the rest.
Q_TIMEOUT = _env_int("ASSAY_Q_TIMEOUT", 1800, minimum=10)
Q_CLUSTER = {
    "name": "assay",
    "workers": _env_int("ASSAY_Q_WORKERS", 2, minimum=1),
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 300,
    "max_attempts": 1,
    # Job rows record every outcome: django-q need not save successful tasks (-1), which
    # spares its monitor a write per task (datagen's 2-worker speed-up: 1.5x -> 1.6x).
    "save_limit": _env_int("ASSAY_Q_SAVE_LIMIT", -1, minimum=-1),
    # Tasks a cluster fetches ahead: few, so that a cluster that dies takes few deliveries
    # with it (the reaper brings them back) and idle clusters are not starved by a busy one.
    "queue_limit": 2 * _env_int("ASSAY_Q_WORKERS", 2, minimum=1),
    "catch_up": False,
    "orm": "default",
}
_redis_url = os.environ.get("ASSAY_Q_REDIS_URL", "")
if _redis_url:
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = _redis_url

# --- jobs and results ---------------------------------------------------------------------
# Short: a live worker keeps its lease from a thread (core.jobs.keep_alive) while a job runs.
ASSAY_JOB_LEASE_SECONDS = _env_int("ASSAY_JOB_LEASE_SECONDS", 60, minimum=5)
ASSAY_RECURRING_PREFIXES = _env_list("ASSAY_RECURRING_PREFIXES", ["daily"])
for _prefix in ASSAY_RECURRING_PREFIXES:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9.-]*", _prefix):
        SETTINGS_ERRORS.append(
            f"ASSAY_RECURRING_PREFIXES: {_prefix!r} is not a valid prefix "
            "(letters, digits, '.' and '-', starting with a letter; no '_')"
        )
# Where data generation runs submitted over the API write their files (<root>/<run id>/).
ASSAY_DATAGEN_ROOT = Path(os.environ.get("ASSAY_DATAGEN_ROOT", VAR_DIR / "datagen"))
ASSAY_CLEAN_CHUNK = _env_int("ASSAY_CLEAN_CHUNK", 5000, minimum=100)
# A result's log longer than this (bytes) is stored cut, its head and tail kept with a note;
# its full size is kept (results/services/logs.py).
ASSAY_MAX_LOG_BYTES = _env_int("ASSAY_MAX_LOG_BYTES", 1024 * 1024, minimum=1024)
ASSAY_PUBLIC_READ = _env_bool("ASSAY_PUBLIC_READ", True)
# History strips and flaky tests look at the last N runs of a prefix; a test is flaky when its
# status flipped at least k times in them (docs/results.md).
ASSAY_HISTORY_RUNS = _env_int("ASSAY_HISTORY_RUNS", 10, minimum=2)
if ASSAY_HISTORY_RUNS > 100:
    SETTINGS_ERRORS.append(f"ASSAY_HISTORY_RUNS={ASSAY_HISTORY_RUNS} must be at most 100")
    ASSAY_HISTORY_RUNS = 100
ASSAY_FLAKY_FLIPS = _env_int("ASSAY_FLAKY_FLIPS", 3, minimum=1)
# A series' trend charts cover its last N runs unless a page asks for others (?runs=N).
ASSAY_TREND_RUNS = _env_int("ASSAY_TREND_RUNS", 30, minimum=2)
if ASSAY_TREND_RUNS > 500:
    SETTINGS_ERRORS.append(f"ASSAY_TREND_RUNS={ASSAY_TREND_RUNS} must be at most 500")
    ASSAY_TREND_RUNS = 500

# querygen (docs/querygen.md): findings kept in full per group (all are counted), interpreters a
# custom run may name as a private build (empty: any absolute path to an executable), and how
# often the schedule looks for pairs that are due.
ASSAY_QUERYGEN_SAMPLES = _env_int("ASSAY_QUERYGEN_SAMPLES", 5, minimum=1)
ASSAY_QUERYGEN_PYTHONS = _env_list("ASSAY_QUERYGEN_PYTHONS", [])
ASSAY_QUERYGEN_TICK_MINUTES = _env_int("ASSAY_QUERYGEN_TICK_MINUTES", 1, minimum=1)

# The migration gate (docs/migrations_gate.md): where it keeps repository mirrors, project
# environments and checkouts, and the secret its anonymization is keyed with (equal values stay
# equal under one secret; another secret gives other fakes). Registering a dataset needs it.
ASSAY_GATE_DIR = Path(os.environ.get("ASSAY_GATE_DIR", VAR_DIR / "gate"))
# The crash tester (docs/crashtest.md): each crash test's site, logs and report.json.
ASSAY_CRASHTEST_DIR = Path(os.environ.get("ASSAY_CRASHTEST_DIR", VAR_DIR / "crashtest"))
ASSAY_GATE_SECRET = os.environ.get("ASSAY_GATE_SECRET", "")
if not ASSAY_GATE_SECRET and (ASSAY_ENV == "development" or "PYTEST_VERSION" in os.environ):
    ASSAY_GATE_SECRET = "insecure-development-gate-secret"  # noqa: S105

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"not_enqueued": {"()": "core.logfilters.NotEnqueued"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django-q": {"filters": ["not_enqueued"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO").upper()},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"

# Behind a TLS proxy (README "Serving for real"): it says the request came over HTTPS in
# X-Forwarded-Proto, so links are https:// and cookies are sent over HTTPS only.
if _env_bool("ASSAY_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
