"""The home page: where everything in the demo is, and the signed-in user's sites."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from esg.sites import earth_engine
from esg.sites.models import Site


def home(request: HttpRequest) -> HttpResponse:
    sites = Site.objects.filter(owner=request.user)[:20] if request.user.is_authenticated else []
    context = {
        "sites": sites,
        "gee_mode": earth_engine.configured_mode(),
        "pools": settings.DUALQUEUE["POOLS"],
    }
    return render(request, "home.html", context)
