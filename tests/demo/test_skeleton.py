"""The demo project boots under the test settings: apps load, migrations apply, URLs resolve."""

from django.apps import apps
from django.urls import reverse


def test_demo_apps_are_installed() -> None:
    labels = {config.label for config in apps.get_app_configs()}
    assert {"dualqueue", "esg_sites", "esg_accounts", "esg_documents", "django_tasks"} <= labels


def test_admin_url_resolves() -> None:
    assert reverse("admin:index") == "/admin/"
