"""The one Django configuration of the pytest process: the demo's settings, made fast and hermetic.

Every test that touches Django (``tests/django``, ``tests/demo``) runs under these settings; they
are set up once by those folders' ``conftest.py``. Subprocess tests (gunicorn, db_worker) use the
demo's own settings with environment variables instead.
"""

import os
import tempfile
from pathlib import Path

# The demo refuses its built-in key when DEBUG is off; the tests run with DEBUG off, on plain HTTP.
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_HTTPS", "0")
os.environ.setdefault("DEMO_PUBLIC_URL", "http://testserver")

from demo.settings import *  # noqa: F403
from dualqueue.django.compat import email_settings

_TMP = Path(tempfile.mkdtemp(prefix="dualqueue-tests-"))

DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_TMP / "tests.sqlite3"),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        "TEST": {"NAME": str(_TMP / "tests.sqlite3")},
    }
}
MEDIA_ROOT = _TMP / "media"
globals().update(email_settings("django.core.mail.backends.locmem.EmailBackend"))
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed: tests only
GEE_PROJECT = ""  # Earth Engine is always a dry run under test
GEE_DRY_RUN_SECONDS = 0.0
LOGGING = {"version": 1, "disable_existing_loggers": False}
# The adapter's unit tests look inside the in-memory store; the database store (the demo's) is proved
# across real processes in tests/django/test_result_store.py and by the framework's tests in tests/conformance.
# No periodic timers behind the tests' backs: the tests that need them declare their own.
DUALQUEUE = {**DUALQUEUE, "RESULT_STORE": "memory", "PROCESSES_DIR": str(_TMP / "processes"), "PERIODIC": {}}  # noqa: F405
