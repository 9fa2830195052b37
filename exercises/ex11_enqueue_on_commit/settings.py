"""The exercise's own, minimal Django settings: one in-memory database, requests in transactions.

``ATOMIC_REQUESTS`` wraps every request in a transaction, committed if the view
returns and rolled back if it raises. Tasks use the framework's
``ImmediateBackend``, which runs a task the moment it is enqueued: the way a
fast, idle worker thread would, which is exactly when an enqueue inside a
transaction goes wrong. Email goes to Django's in-memory outbox.
"""

from __future__ import annotations

try:  # Django 6 ships the tasks framework; Django 5.2 uses the django_tasks backport
    import django.tasks  # noqa: F401

    TASKS_PACKAGE = "django.tasks"
except ImportError:
    TASKS_PACKAGE = "django_tasks"

SECRET_KEY = "exercise-11-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "exercises.ex11_enqueue_on_commit.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"] + (
    ["django_tasks"] if TASKS_PACKAGE == "django_tasks" else []
)
MIDDLEWARE: list[str] = []
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "ATOMIC_REQUESTS": True}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {"default": {"BACKEND": f"{TASKS_PACKAGE}.backends.immediate.ImmediateBackend"}}
# The checks provoke a rolled-back request on purpose: do not print its traceback.
LOGGING = {"version": 1, "disable_existing_loggers": False, "loggers": {"django.request": {"level": "CRITICAL"}}}
