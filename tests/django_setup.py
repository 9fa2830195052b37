"""Configure Django once for the pytest process and build its test database once.

``tests/django/conftest.py`` and ``tests/demo/conftest.py`` call :func:`setup`; the database is
created by Django's own test machinery (migrations included) and torn down at the end.
"""

from __future__ import annotations

import os

_state: dict[str, object] = {}


def setup() -> None:
    """Idempotent: point Django at ``tests.django_settings`` and call ``django.setup()``."""
    if _state.get("configured"):
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_settings")
    import django

    django.setup()
    _state["configured"] = True


def create_test_database() -> object:
    """Set up Django's test environment and create the test database; returns the teardown token."""
    setup()
    from django.db import connections
    from django.test.utils import setup_databases, setup_test_environment

    setup_test_environment()
    return setup_databases(verbosity=0, interactive=False, aliases={"default"}), connections


def destroy_test_database(token: object) -> None:
    from django.test.utils import teardown_databases, teardown_test_environment

    old_config, _connections = token  # type: ignore[misc]
    teardown_databases(old_config, verbosity=0)
    teardown_test_environment()
