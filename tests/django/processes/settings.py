"""Settings of the separate processes that share one database result store (``tests/django/test_result_store.py``)."""

import os

from tests.django_settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["RESULTS_DB"],
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
DUALQUEUE = {"POOLS": {"general": 2, "site": 2}, "RESULT_STORE": "database", "RESULTS_KEPT": 1000}
