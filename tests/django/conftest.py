"""Every test in this folder runs with Django configured and the test database built (see tests/conftest.py).

Django is configured at import (collection) time, because ``tests/django/tasks.py`` declares
tasks, and declaring a task asks the configured backend to validate it. Each test starts
with an empty registry and must leave every pool idle: a task still running after a test is
a bug of that test, reported as one.
"""

from collections.abc import Iterator

import pytest

from tests import django_setup

django_setup.setup()


@pytest.fixture(autouse=True)
def _django(django_db: None) -> Iterator[None]:
    """Autouse: the session's test database exists; the registry is fresh, and left idle."""
    from dualqueue.django import registry

    registry.reset()
    yield
    try:
        assert registry.join(timeout=10.0), "a test left tasks queued or running on the pools"
    finally:
        registry.reset()
