"""Every test in this folder runs with Django configured and the test database built (see tests/conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def _django(django_db: None) -> None:
    """Autouse: the session's Django test database exists before any test here runs."""
