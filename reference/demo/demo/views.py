"""The home page: where everything in the demo is, and the signed-in user's sites."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
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


# Two overlapping squares, the two pools, in the demo's green: an SVG favicon needs no static files.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect x="1" y="1" width="9" height="9" rx="2" fill="#1a7f37"/>'
    '<rect x="6" y="6" width="9" height="9" rx="2" fill="#2da44e" opacity=".8"/></svg>'
)


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(FAVICON, content_type="image/svg+xml")
