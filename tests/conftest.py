"""Suite-wide settings: hypothesis profiles sized for a shared 2-core machine, the figures, the Django database."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["tests.figures"]  # the `figures` fixture and the "reliability figures" summary


@pytest.fixture(scope="session")
def django_db() -> Iterator[None]:
    """Django configured with ``tests.django_settings`` and a migrated test database, for the whole session.

    Only the Django folders (``tests/django``, ``tests/demo``) ask for it, through an autouse
    fixture in their ``conftest.py``: the core tests never import Django.
    """
    from tests import django_setup

    token = django_setup.create_test_database()
    yield
    django_setup.destroy_test_database(token)
