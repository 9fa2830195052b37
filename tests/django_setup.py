"""Configure Django once for the pytest process and build its test database once.

``tests/django/conftest.py`` and ``tests/demo/conftest.py`` call :func:`setup`; the database is
created by Django's own test machinery (migrations included) and torn down at the end.
"""

from __future__ import annotations

import os
from typing import Any

_state: dict[str, object] = {}


def setup() -> None:
    """Idempotent: point Django at ``tests.django_settings`` and call ``django.setup()``."""
    if _state.get("configured"):
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_settings")
    import django

    django.setup()
    _state["configured"] = True


def create_test_database() -> Any:
    """Set up Django's test environment and create the test database; returns what teardown needs."""
    setup()
    from django.test.utils import setup_databases, setup_test_environment

    setup_test_environment()
    return setup_databases(verbosity=0, interactive=False, aliases={"default"})


def destroy_test_database(old_config: Any) -> None:
    from django.test.utils import teardown_databases, teardown_test_environment

    teardown_databases(old_config, verbosity=0)
    teardown_test_environment()
