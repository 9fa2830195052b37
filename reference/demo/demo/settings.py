"""Settings for the ESG demo: safe defaults for a laptop, every production knob from the environment.

Defaults: SQLite in ``reference/demo/var/`` (WAL, busy timeout), console email, Earth Engine dry
run. ``DATABASE_URL`` switches to PostgreSQL (or any database dj-database-url knows),
``EMAIL_HOST``/``EMAIL_PORT`` to SMTP, ``GEE_PROJECT`` plus credentials to live Earth Engine.

Everything else the demo reads from the environment, with its default: ``DEMO_VAR_DIR``
(``reference/demo/var``: database, uploads, search index, the seeded admin's password),
``GEE_DRY_RUN_SECONDS`` (0), ``GEE_MAX_CONCURRENT`` (8), ``GEE_CACHE_SECONDS`` (3600),
``SITE_MAX_BODY_BYTES`` (1 MB), ``SITE_MAX_VERTICES`` (10,000), ``SITE_MAX_AREA_KM2`` (10,000),
``DOCUMENTS_MAX_BYTES`` (5 MiB), ``DOCUMENTS_INDEX_PATH`` (``<media>/search-index.sqlite3``),
``DOCUMENTS_INDEX_WAIT`` / ``DOCUMENTS_INDEX_MAX_WAIT`` (15 s / 60 s), ``RESET_LIMIT_PER_EMAIL`` /
``RESET_LIMIT_PER_IP`` (5 / 20 per hour), ``MAX_REQUEST_BYTES`` (8 MiB). ``manage.py seed_demo``
reads ``DEMO_ADMIN_USERNAME``, ``DEMO_ADMIN_EMAIL`` and ``DEMO_ADMIN_PASSWORD``. Nothing here opens
a file or a connection: importing the settings has no side effects.
"""

from __future__ import annotations

import os
from pathlib import Path

from dualqueue.django.compat import TASKS_APPS, email_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DEMO_VAR_DIR", BASE_DIR / "var"))


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _flag("DJANGO_DEBUG", default=True)
# The fallback key only ever signs a laptop's demo sessions; production sets DJANGO_SECRET_KEY.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dualqueue-demo-insecure-key-for-local-use-only-0123456789")
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h]

# --8<-- [start:installed-apps]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    *TASKS_APPS,  # the django_tasks backport on Django 5.2; nothing on Django 6 (django.tasks is built in)
    "dualqueue.django",
    "esg.accounts",
    "esg.sites",
    "esg.documents",
]
# --8<-- [end:installed-apps]

MIDDLEWARE = [
    "esg.middleware.BodySizeLimitMiddleware",  # first: refuses an oversized body before anything reads it
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo.urls"
WSGI_APPLICATION = "demo.wsgi.application"

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
            ],
        },
    },
]

# SQLite by default: WAL lets the request threads read while a worker thread writes, and the
# busy timeout makes a writer wait for the lock instead of failing at once ("database is locked").
if os.environ.get("DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.config(conn_max_age=60, conn_health_checks=True)}
else:
    # --8<-- [start:sqlite]
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("DEMO_SQLITE_PATH", str(VAR_DIR / "demo.sqlite3")),
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
    # --8<-- [end:sqlite]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"

# Email: the console by default; SMTP as soon as a host and port are configured. email_settings()
# writes MAILERS on Django 6.1 (which deprecates EMAIL_BACKEND/EMAIL_HOST...) and those on 5.2.
# --8<-- [start:email]
if os.environ.get("EMAIL_HOST") and os.environ.get("EMAIL_PORT"):
    globals().update(
        email_settings(
            "django.core.mail.backends.smtp.EmailBackend",
            host=os.environ["EMAIL_HOST"],
            port=int(os.environ["EMAIL_PORT"]),
            username=os.environ.get("EMAIL_HOST_USER", ""),
            password=os.environ.get("EMAIL_HOST_PASSWORD", ""),
            use_tls=_flag("EMAIL_USE_TLS"),
            timeout=10,
        )
    )
else:
    globals().update(email_settings("django.core.mail.backends.console.EmailBackend"))
# --8<-- [end:email]
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "esg-platform@localhost")

# The seed system: a general pool of 2 threads for light work, a site pool of 10 for analyses.
# --8<-- [start:dualqueue]
DUALQUEUE = {
    "POOLS": {"general": 2, "site": 10},
    "EXIT_TIMEOUT": 25.0,  # under gunicorn's default graceful timeout of 30 s
    "STATUS_ACCESS": "staff-or-token",  # token from the DUALQUEUE_STATUS_TOKEN environment variable
    "RESULTS_KEPT": 1000,
    "RESULT_STORE": "database",  # every gunicorn worker reads every result, and they survive a restart
}
# --8<-- [end:dualqueue]

# --8<-- [start:tasks]
TASKS = {
    "default": {
        "BACKEND": "dualqueue.django.backend.DualqueueBackend",
        "QUEUES": ["default", "site"],
        "OPTIONS": {"QUEUE_POOLS": {"default": "general", "site": "site"}},
    }
}
# --8<-- [end:tasks]

# Earth Engine: dry run unless a project and credentials are configured (never decided by trying).
GEE_PROJECT = os.environ.get("GEE_PROJECT", "")
GEE_SERVICE_ACCOUNT_KEY = os.environ.get("GEE_SERVICE_ACCOUNT_KEY", "")  # path to a JSON key file
GEE_DRY_RUN_SECONDS = float(os.environ.get("GEE_DRY_RUN_SECONDS", "0"))
GEE_MAX_CONCURRENT = int(os.environ.get("GEE_MAX_CONCURRENT", "8"))

# Earth Engine results are cached (live mode only) by the hash of the computation graph.
GEE_CACHE_SECONDS = float(os.environ.get("GEE_CACHE_SECONDS", "3600"))

# The demo's own limits, each checked where the input enters (see the apps' modules).
SITE_MAX_BODY_BYTES = int(os.environ.get("SITE_MAX_BODY_BYTES", str(1_000_000)))
SITE_MAX_VERTICES = int(os.environ.get("SITE_MAX_VERTICES", "10000"))
SITE_MAX_AREA_KM2 = float(os.environ.get("SITE_MAX_AREA_KM2", "10000"))
DOCUMENTS_MAX_BYTES = int(os.environ.get("DOCUMENTS_MAX_BYTES", str(5 * 1024 * 1024)))
DOCUMENTS_INDEX_PATH = os.environ.get("DOCUMENTS_INDEX_PATH", "")  # empty: MEDIA_ROOT/search-index.sqlite3
DOCUMENTS_INDEX_WAIT = float(os.environ.get("DOCUMENTS_INDEX_WAIT", "15"))
DOCUMENTS_INDEX_MAX_WAIT = float(os.environ.get("DOCUMENTS_INDEX_MAX_WAIT", "60"))
# Password resets per hour: per address asked for, and per client address. The counts live in the
# cache below, which is per process: with several gunicorn workers, each keeps its own counts
# (a shared cache such as Redis or the database cache makes them global).
PASSWORD_RESET_LIMITS = {
    "per_email": (int(os.environ.get("RESET_LIMIT_PER_EMAIL", "5")), 3600),
    "per_ip": (int(os.environ.get("RESET_LIMIT_PER_IP", "20")), 3600),
}
# The ceiling on any request body (esg.middleware); each endpoint has its own, smaller limit.
MAX_REQUEST_BYTES = int(os.environ.get("MAX_REQUEST_BYTES", str(8 * 1024 * 1024)))
# Django's own cap on a non-file body read into memory (2.5 MB by default) would refuse a JSON
# upload of a 5 MiB document (base64: 6.7 MiB) with an HTML 400 before the view could answer.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "esg-demo"}}
# The JSON API answers a failed CSRF check in JSON (browsers still get Django's page).
CSRF_FAILURE_VIEW = "esg.jsonapi.csrf_failure"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "dualqueue": {"handlers": ["console"], "level": os.environ.get("DUALQUEUE_LOG_LEVEL", "INFO")},
        "esg": {"handlers": ["console"], "level": "INFO"},
    },
}
