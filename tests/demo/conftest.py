"""Every test in this folder runs with Django configured and the test database built (see tests/conftest.py).

Django is configured at import (collection) time: the demo's task modules declare tasks, and
declaring a task asks the configured backend (``DualqueueBackend``) to validate it. Each test
starts with an empty task registry, the Earth Engine client rebuilt from settings and an empty
cache (the rate limits live there). A pending debouncer is flushed at the end of the test and
every pool must then go idle.
"""

from collections.abc import Iterator

import pytest

from tests import django_setup

django_setup.setup()


@pytest.fixture(autouse=True)
def _django(django_db: None) -> Iterator[None]:
    """Autouse: the session's test database exists; registry, Earth Engine client and cache are fresh."""
    from django.core.cache import cache
    from dualqueue.django import registry
    from esg.sites import earth_engine

    registry.reset()
    earth_engine.use_service(None)
    cache.clear()
    yield
    try:
        # A debouncer still waiting (an upload on the real clock) runs now, inside this test's
        # time, rather than at the reset below, concurrently with the next test.
        for debouncer in registry.get_task_system().debouncers.values():
            debouncer.flush()
        assert registry.join(timeout=10.0), "a test left tasks queued or running on the pools"
    finally:
        registry.reset()
        earth_engine.use_service(None)
