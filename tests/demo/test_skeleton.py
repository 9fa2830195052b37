"""The demo project boots under the test settings: apps load, migrations apply, URLs resolve."""

import django
from django.apps import apps
from django.urls import reverse
from dualqueue.django.compat import TASKS_APPS, TASKS_MODULE


def test_demo_apps_are_installed() -> None:
    labels = {config.label for config in apps.get_app_configs()}
    assert {"dualqueue", "esg_sites", "esg_accounts", "esg_documents"} <= labels


def test_the_tasks_framework_matches_the_django_line() -> None:
    """Django 6 runs on its built-in django.tasks with no backport app; 5.2 needs the backport's app."""
    labels = {config.label for config in apps.get_app_configs()}
    if django.VERSION >= (6, 0):
        assert (TASKS_MODULE, TASKS_APPS) == ("django.tasks", ())
        assert "django_tasks" not in labels, "Django 6 must not load the django_tasks backport"
    else:
        assert (TASKS_MODULE, TASKS_APPS) == ("django_tasks", ("django_tasks",))
        assert "django_tasks" in labels


def test_admin_url_resolves() -> None:
    assert reverse("admin:index") == "/admin/"
