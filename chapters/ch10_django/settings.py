"""The smallest settings that run the chapter's app on dualqueue: the demo passes them
to ``settings.configure``.

The database is a SQLite *file* in WAL mode, not ``":memory:"``. Django opens one
connection per thread, and an in-memory SQLite database belongs to the
connection that created it: a worker thread would open a second, empty
database and find no tables at all. WAL lets the worker threads read while a
request writes; the IMMEDIATE transaction mode and the busy timeout make a
second writer wait for the lock instead of failing at once ("database is
locked"). The demo points ``CH10_DATABASE`` at a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dualqueue.django.compat import (
    TASKS_APPS as tasks_apps,  # lower case: as_dict() takes upper-case names
)

SECRET_KEY = "chapter-10-demo-only-never-deploy-this-key"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
ROOT_URLCONF = "chapters.ch10_django.urls"

# --8<-- [start:apps]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    *tasks_apps,  # the Tasks API: the backport on Django 5.2, nothing on Django 6
    "dualqueue.django",  # the adapter: checks, settings receiver, status views
    "chapters.ch10_django",
]
# --8<-- [end:apps]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get(
            "CH10_DATABASE", str(Path(tempfile.gettempdir()) / "dualqueue-ch10.sqlite3")
        ),
        "OPTIONS": {
            "timeout": 5,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}

# the demo reads django.core.mail.outbox
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "esg-platform@localhost"

# --8<-- [start:dualqueue]
DUALQUEUE = {
    "POOLS": {"general": 2, "site": 10},
    "EXIT_TIMEOUT": 25.0,
    # the token comes from the DUALQUEUE_STATUS_TOKEN environment variable
    "STATUS_ACCESS": "staff-or-token",
    "RESULTS_KEPT": 1000,
}

TASKS = {
    "default": {
        "BACKEND": "dualqueue.django.backend.DualqueueBackend",
        "QUEUES": ["default", "site"],
        "OPTIONS": {"QUEUE_POOLS": {"default": "general", "site": "site"}},
    }
}
# --8<-- [end:dualqueue]


def as_dict() -> dict[str, object]:
    """Every setting above, for ``django.conf.settings.configure(**as_dict())``."""
    return {name: value for name, value in globals().items() if name.isupper()}
