"""The ``dualqueue`` Django app: add ``"dualqueue.django"`` to ``INSTALLED_APPS``.

Loading the app builds nothing and starts nothing (the pools are built on first use). It
registers the system checks and connects the registry to ``setting_changed``, so a test that
overrides ``DUALQUEUE`` gets pools built from its settings.
"""

from django.apps import AppConfig


class DualqueueConfig(AppConfig):
    name = "dualqueue.django"
    label = "dualqueue"
    verbose_name = "dualqueue background tasks"

    def ready(self) -> None:
        from . import checks, registry  # noqa: F401  (registering checks and the settings receiver)
