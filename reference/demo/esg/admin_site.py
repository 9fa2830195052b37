"""Django's admin with its login throttled like the demo's own (``esg.accounts.throttle``).

Installed in place of ``django.contrib.admin`` (``INSTALLED_APPS`` names ``DemoAdminConfig``), which
is Django's documented way to replace the default admin site: ``admin.site`` is then a
``ThrottledAdminSite`` and every ``ModelAdmin`` registers on it as usual.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse


class ThrottledAdminSite(admin.AdminSite):
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        from esg.accounts.throttle import refuse_login  # models: not importable while apps load

        refused = refuse_login(request)
        if refused is not None:
            return refused
        return super().login(request, extra_context)


class DemoAdminConfig(AdminConfig):
    default_site = "esg.admin_site.ThrottledAdminSite"
