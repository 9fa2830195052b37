"""Settings for the ESG demo: safe production defaults, every knob from the environment.

Production by default: ``DEBUG`` is off unless ``DJANGO_DEBUG=1`` (``make demo`` sets it for
runserver), and with ``DEBUG`` off the demo refuses to start without ``DJANGO_SECRET_KEY``
(``ImproperlyConfigured``), serves HTTPS only (``DJANGO_HTTPS=0`` for plain HTTP on loopback) and
sends reset links to ``DEMO_PUBLIC_URL``. ``manage.py check --deploy`` is clean under the
environment in ``reference/demo/production.env`` (the promises guide's Security section shows it;
``tests/demo/test_production_settings.py`` runs it).

Defaults: SQLite in ``reference/demo/var/`` (WAL, busy timeout), console email, Earth Engine dry
run. ``DATABASE_URL`` switches to PostgreSQL (or any database dj-database-url knows),
``EMAIL_HOST``/``EMAIL_PORT`` to SMTP, ``GEE_PROJECT`` plus credentials to live Earth Engine.

Everything else the demo reads from the environment, with its default: ``DEMO_VAR_DIR``
(``reference/demo/var``: database, uploads, search index, the seeded admin's password),
``GEE_DRY_RUN_SECONDS`` (0), ``GEE_MAX_CONCURRENT`` (8), ``GEE_CACHE_SECONDS`` (3600),
``SITE_MAX_BODY_BYTES`` (1 MB), ``SITE_MAX_VERTICES`` (10,000), ``SITE_MAX_AREA_KM2`` (10,000),
``DOCUMENTS_MAX_BYTES`` (5 MiB), ``DOCUMENTS_INDEX_PATH`` (``<media>/search-index.sqlite3``),
``DOCUMENTS_INDEX_WAIT`` / ``DOCUMENTS_INDEX_MAX_WAIT`` (15 s / 60 s), ``RESET_LIMIT_PER_EMAIL`` /
``RESET_LIMIT_PER_IP`` (5 / 20 per hour), ``LOGIN_LIMIT_PER_USERNAME`` / ``LOGIN_LIMIT_PER_IP``
(10 / 50 per 15 minutes), ``SITE_QUEUE_MAX`` (200 analyses waiting in the site pool),
``SITE_MAX_UNFINISHED_ANALYSES`` (20 per user), ``DOCUMENTS_MAX_PROCESSING_PER_USER`` (5 PDFs),
``DOCUMENTS_EXTRACT_CPU_SECONDS`` / ``_MEMORY_MB`` / ``_TIMEOUT`` (10 s / 512 MB / 30 s),
``MAX_REQUEST_BYTES`` (8 MiB), ``DEMO_RECONCILE_EVERY`` (300 s between two runs of the periodic
reconcile of lost analyses). ``manage.py seed_demo``
reads ``DEMO_ADMIN_USERNAME``, ``DEMO_ADMIN_EMAIL`` and ``DEMO_ADMIN_PASSWORD``. Nothing here opens
a file or a connection: importing the settings has no side effects.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from dualqueue.django.compat import TASKS_APPS, email_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DEMO_VAR_DIR", BASE_DIR / "var"))


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# --8<-- [start:production-defaults]
# Off unless asked for: `make demo` (runserver on a laptop) sets DJANGO_DEBUG=1. Debug
# pages show settings, paths and local variables to whoever triggers them, and every 404
# lists the URLs.
DEBUG = _flag("DJANGO_DEBUG", default=False)

# The built-in key only ever signs a laptop's demo sessions (DEBUG on). Without DEBUG, a
# key that anyone can read in this file would let them forge sessions and reset tokens:
# refuse to start.
BUILT_IN_SECRET_KEY = "dualqueue-demo-insecure-key-for-local-use-only-0123456789"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip() or BUILT_IN_SECRET_KEY
if SECRET_KEY == BUILT_IN_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set and DEBUG is off: the demo will not sign "
        "sessions and password-reset links with the key written in its settings file. "
        "Set DJANGO_SECRET_KEY to a long random value, e.g. the output of: python -c "
        "'import secrets; print(secrets.token_urlsafe(50))'; or set DJANGO_DEBUG=1 to "
        "run it on your own machine."
    )
_hosts = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
ALLOWED_HOSTS = [h for h in _hosts.split(",") if h]

# HTTPS: on whenever DEBUG is off, unless DJANGO_HTTPS=0 says the demo is served over
# plain HTTP (a loopback test). On: redirect to https, cookies only over https, HSTS
# (DJANGO_HSTS_SECONDS, a year by default, with subdomains and the preload flag,
# DJANGO_HSTS_PRELOAD=0 to leave it out). Behind a proxy that ends TLS,
# DJANGO_TLS_PROXY_HEADER=1 trusts its X-Forwarded-Proto: set it only if the proxy
# always sets (or strips) that header.
HTTPS = _flag("DJANGO_HTTPS", default=not DEBUG)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(
        os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600))
    )
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag(
        "DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True
    )
    SECURE_HSTS_PRELOAD = _flag("DJANGO_HSTS_PRELOAD", default=True)
if _flag("DJANGO_TLS_PROXY_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Where links sent out of band (the password-reset email) point: configured, never taken
# from a request's Host header. By default the first allowed host, over https when HTTPS
# is on.
PUBLIC_URL = os.environ.get("DEMO_PUBLIC_URL", "").strip() or (
    f"{'https' if HTTPS else 'http'}://"
    f"{ALLOWED_HOSTS[0] if ALLOWED_HOSTS else 'localhost'}"
    + (":8000" if DEBUG else "")
)
_public = urlsplit(PUBLIC_URL)
if (
    _public.scheme not in {"http", "https"}
    or not _public.netloc
    or _public.path not in {"", "/"}
):
    raise ImproperlyConfigured(
        "DEMO_PUBLIC_URL must be the site's scheme and host, such as "
        f"https://esg.example.com; got {PUBLIC_URL!r}"
    )
# --8<-- [end:production-defaults]

# --8<-- [start:installed-apps]
INSTALLED_APPS = [
    "esg.admin_site.DemoAdminConfig",  # django.contrib.admin, its login throttled
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # the django_tasks backport on Django 5.2; nothing on Django 6 (django.tasks is
    # built in)
    *TASKS_APPS,
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
    # At most this many tasks wait in each pool; past it a request is answered 503
    # (Retry-After).
    "MAXSIZE": {"general": 1000, "site": int(os.environ.get("SITE_QUEUE_MAX", "200"))},
    "EXIT_TIMEOUT": 25.0,  # under gunicorn's default graceful timeout of 30 s
    # token from the DUALQUEUE_STATUS_TOKEN environment variable
    "STATUS_ACCESS": "staff-or-token",
    "RESULTS_KEPT": 1000,
    # Each worker process publishes its picture here; the status views show every
    # process's.
    "PROCESSES_DIR": str(VAR_DIR / "processes"),
    # every gunicorn worker reads every result, and they survive a restart
    "RESULT_STORE": "database",
    # Each tick runs in one process of the server (the processes claim it in the
    # database).
    "PERIODIC": {
        "reconcile-lost-analyses": {
            "task": "esg.sites.tasks.reconcile_lost_analyses",
            "every": float(os.environ.get("DEMO_RECONCILE_EVERY", "300")),
        },
    },
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

# The site drawing canvas shows no map unless a tile server is configured (a slippy-map URL with
# {z}/{x}/{y}, e.g. your own tile server's); this machine fetches no tiles.
DEMO_MAP_TILE_URL = os.environ.get("DEMO_MAP_TILE_URL", "")

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
# Password resets per hour: per address asked for, and per client address. Login POSTs per 15
# minutes: per user name, and per client address (both doors: the demo's login and the admin's).
# The counts are rows in the database (esg.accounts.ratelimit), so every worker process shares them.
PASSWORD_RESET_LIMITS = {
    "per_email": (int(os.environ.get("RESET_LIMIT_PER_EMAIL", "5")), 3600),
    "per_ip": (int(os.environ.get("RESET_LIMIT_PER_IP", "20")), 3600),
}
LOGIN_LIMITS = {
    "per_username": (int(os.environ.get("LOGIN_LIMIT_PER_USERNAME", "10")), 900),
    "per_ip": (int(os.environ.get("LOGIN_LIMIT_PER_IP", "50")), 900),
}
# Unfinished background work one user may have (counted in the database, esg.admission): analyses
# waiting or running, and PDFs waiting for their text. Over it, 429 with Retry-After.
SITE_MAX_UNFINISHED_ANALYSES = int(os.environ.get("SITE_MAX_UNFINISHED_ANALYSES", "20"))
DOCUMENTS_MAX_PROCESSING_PER_USER = int(os.environ.get("DOCUMENTS_MAX_PROCESSING_PER_USER", "5"))
# Unfinished rows older than this were lost (a crash drops queued work) and stop counting.
UNFINISHED_STALE_SECONDS = float(os.environ.get("UNFINISHED_STALE_SECONDS", "3600"))
# PDF text extraction runs in a child process with these bounds (esg.documents.extraction).
DOCUMENTS_EXTRACT_CPU_SECONDS = int(os.environ.get("DOCUMENTS_EXTRACT_CPU_SECONDS", "10"))
DOCUMENTS_EXTRACT_MEMORY_MB = int(os.environ.get("DOCUMENTS_EXTRACT_MEMORY_MB", "512"))
DOCUMENTS_EXTRACT_TIMEOUT = float(os.environ.get("DOCUMENTS_EXTRACT_TIMEOUT", "30"))
# The ceiling on any request body (esg.middleware); each endpoint has its own, smaller limit, and
# the JSON endpoints read at most their own limit of the body (esg.jsonapi.read_body). Form posts
# keep Django's own cap on a body read into memory (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB).
MAX_REQUEST_BYTES = int(os.environ.get("MAX_REQUEST_BYTES", str(8 * 1024 * 1024)))
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
