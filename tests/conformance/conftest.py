"""The framework's own tests, run against ``DualqueueBackend``: Django configured as in ``tests/django``."""

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
        assert registry.join(timeout=30.0), "a test left tasks queued or running on the pools"
    finally:
        registry.reset()
