"""The sites as HTML pages: list, create (paste GeoJSON or draw), a site with its analyses, run and re-run.

The JSON API (``esg.sites.views``) is for scripts; these pages are for people, behind the
session login. Both create the same rows and enqueue the same task; the same checks apply
(``validate_polygon`` with the settings' limits). A site page polls its history fragment every
two seconds, so an analysis's status changes in place; every read reconciles lost rows first
(``esg.sites.reconcile``).
"""

from __future__ import annotations

import datetime
import json
import math
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from dualqueue.django import progress_of

from esg.jsonapi import ApiError, setting

from . import earth_engine
from .geojson import GeometryError, polygon_area_km2, validate_polygon
from .models import Analysis, Site
from .reconcile import reconcile
from .views import NAME_MAX, _limits, start_analysis

HISTORY_SHOWN = 50


class SiteForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX, strip=True)
    geometry = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="A GeoJSON Polygon (or a Feature holding one): paste it, or draw it above.",
    )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        if not name.isprintable():
            raise forms.ValidationError("Use printable characters only.")
        return name

    def clean_geometry(self) -> dict[str, Any]:
        text: str = self.cleaned_data["geometry"]
        limit = int(setting("SITE_MAX_BODY_BYTES", 1_000_000))
        if len(text.encode()) > limit:
            raise forms.ValidationError(f"The geometry is larger than {limit / 1_000_000:.1f} MB.")
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}") from None
        try:
            return validate_polygon(value, _limits())
        except GeometryError as exc:
            raise forms.ValidationError(f"Not a usable polygon: {exc}") from None


def _own_site(request: HttpRequest, site_id: int) -> Site:
    site = Site.objects.filter(pk=site_id, owner=request.user).first()
    if site is None:
        raise Http404("No such site among yours.")
    return site


@login_required
@require_GET
def site_list(request: HttpRequest) -> HttpResponse:
    sites = Site.objects.filter(owner=request.user)
    reconcile(Analysis.objects.filter(site__owner=request.user))
    rows = [(site, site.analyses.first()) for site in sites[:200]]
    return render(request, "sites/list.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def site_new(request: HttpRequest) -> HttpResponse:
    form = SiteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        geometry = form.cleaned_data["geometry"]
        site = Site.objects.create(
            name=form.cleaned_data["name"], geometry=geometry,
            area_km2=polygon_area_km2(geometry["coordinates"]), owner=request.user,
        )
        messages.success(request, f"Site {site.name!r} created.")
        return redirect("site-pages:page", site_id=site.pk)
    return render(request, "sites/new.html", {"form": form, "tile_url": settings.DEMO_MAP_TILE_URL})


def _history(site: Site) -> list[Analysis]:
    reconcile(site.analyses.all())
    rows = list(site.analyses.all()[:HISTORY_SHOWN])
    for analysis in rows:
        analysis.progress = analysis_progress(analysis)  # type: ignore[attr-defined]
    return rows


def analysis_progress(analysis: Analysis) -> dict[str, Any] | None:
    """What a running analysis last reported (its task's result row, written by any process), as percent."""
    if analysis.status != Analysis.Status.RUNNING or not analysis.task_result_id:
        return None
    progress = progress_of(analysis.task_result_id)
    if progress is None:
        return None
    fraction = progress["fraction"]
    return {**progress, "percent": None if fraction is None else round(100 * fraction)}


@login_required
@require_GET
def site_page(request: HttpRequest, site_id: int) -> HttpResponse:
    site = _own_site(request, site_id)
    context = {
        "site": site,
        "analyses": _history(site),
        "svg": polygon_svg(site.geometry, tile_url=settings.DEMO_MAP_TILE_URL),
        "window": earth_engine.default_window(),
        "gee_mode": earth_engine.configured_mode(),
    }
    return render(request, "sites/detail.html", context)


@login_required
@require_GET
def site_history(request: HttpRequest, site_id: int) -> HttpResponse:
    """The history table alone: what the site page fetches to update itself."""
    site = _own_site(request, site_id)
    response = render(request, "sites/_history.html", {"site": site, "analyses": _history(site)})
    response["Cache-Control"] = "no-store"
    return response


# "Run analysis" now, or later: a scheduled analysis is a deferred task (run_after), kept in the database.
RUN_LATER = {"1h": datetime.timedelta(hours=1), "24h": datetime.timedelta(hours=24)}


@login_required
@require_POST
def site_run(request: HttpRequest, site_id: int) -> HttpResponse:
    site = _own_site(request, site_id)
    start, end = (datetime.date.fromisoformat(d) for d in earth_engine.default_window())
    when = request.POST.get("when", "now")
    if when != "now" and when not in RUN_LATER:
        return HttpResponseBadRequest(f"when must be now, {' or '.join(RUN_LATER)}")
    run_after = timezone.now() + RUN_LATER[when] if when in RUN_LATER else None
    try:
        start_analysis(request.user, site, start, end, run_after=run_after)
    except ApiError as refusal:
        return _refused(request, refusal, site)
    if run_after is None:
        messages.success(request, "Analysis queued on the site pool.")
    else:
        messages.success(request, f"Analysis scheduled for {run_after:%Y-%m-%d %H:%M} UTC.")
    return redirect("site-pages:page", site_id=site.pk)


def _refused(request: HttpRequest, refusal: ApiError, site: Site) -> HttpResponse:
    """A refusal (over the owner's limit: 429; the site pool full: 503) as a page, with Retry-After."""
    context = {
        "status": refusal.status,
        "message": refusal.message,
        "retry_after": refusal.retry_after,
        "back": reverse("site-pages:page", args=[site.pk]),
    }
    response = render(request, "refused.html", context, status=refusal.status)
    if refusal.retry_after is not None:
        response["Retry-After"] = str(refusal.retry_after)
    return response


@login_required
@require_POST
def analysis_rerun(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    """Run a failed or lost analysis again (a new row, same site and window): its owner, or staff."""
    rows = Analysis.objects.select_related("site")
    if not request.user.is_staff:
        rows = rows.filter(site__owner=request.user)
    old = rows.filter(pk=analysis_id).first()
    if old is None:
        raise Http404("No such analysis among yours.")
    if old.status != Analysis.Status.FAILED:
        messages.error(request, "Only a failed or lost analysis can be re-run.")
    else:
        try:
            start_analysis(old.site.owner, old.site, old.start, old.end)
        except ApiError as refusal:
            return _refused(request, refusal, old.site)
        messages.success(request, f"Analysis of {old.site.name!r} queued again.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("site-pages:page", args=[old.site_id])
    return redirect(target)


@require_GET
def analyses_attention(request: HttpRequest) -> HttpResponse:
    """The status page's "analyses to re-run" section alone (staff): what the page fetches to update it."""
    if not (request.user.is_active and request.user.is_staff):
        raise PermissionDenied
    next_page = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_page, {request.get_host()}):
        next_page = reverse("dualqueue:status-page")
    response = render(request, "sites/_attention_fragment.html", {"next": next_page})
    response["Cache-Control"] = "no-store"
    return response


MAX_TILES = 9  # a site page never asks a tile server for more than this


def polygon_svg(geometry: dict[str, Any], size: int = 320, tile_url: str = "") -> dict[str, Any]:
    """The polygon as SVG path data in a ``size`` x ``size`` box (equirectangular, north up).

    With ``tile_url`` (a slippy-map template with ``{z}``, ``{x}`` and ``{y}``), also the tiles
    that cover the box, each placed at its longitude and latitude bounds (at site scale the
    Mercator tile is close enough to the box's projection to sit under the outline).
    """
    rings = geometry["coordinates"]
    xs = [p[0] for p in rings[0]]
    ys = [p[1] for p in rings[0]]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1e-9
    pad = span * 0.1
    west, north, width = min(xs) - pad, max(ys) + pad, span + 2 * pad

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - west) / width * size, (north - lat) / width * size

    def point(p: list[float]) -> str:
        x, y = xy(p[0], p[1])
        return f"{x:.1f},{y:.1f}"

    path = " ".join("M" + " L".join(point(p) for p in ring) + " Z" for ring in rings)
    tiles = _tiles(tile_url, west, north, width, xy) if tile_url else []
    return {"path": path, "size": size, "bbox": [min(xs), min(ys), max(xs), max(ys)], "tiles": tiles}


def _tiles(template: str, west: float, north: float, width: float, xy: Any) -> list[dict[str, Any]]:
    def tile_x(lon: float, n: int) -> int:
        return min(n - 1, max(0, int((lon + 180) / 360 * n)))

    def tile_y(lat: float, n: int) -> int:
        lat = max(-85.05, min(85.05, lat))
        r = math.radians(lat)
        return min(n - 1, max(0, int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * n)))

    def tile_lat(y: int, n: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))

    zoom = max(0, min(19, round(math.log2(360 / width))))
    while True:
        n = 2**zoom
        x0, x1 = tile_x(west, n), tile_x(west + width, n)
        y0, y1 = tile_y(north, n), tile_y(north - width, n)
        if (x1 - x0 + 1) * (y1 - y0 + 1) <= MAX_TILES or zoom == 0:
            break
        zoom -= 1
    tiles = []
    for tx in range(x0, x1 + 1):
        for ty in range(y0, y1 + 1):
            left, top = xy(tx / n * 360 - 180, tile_lat(ty, n))
            right, bottom = xy((tx + 1) / n * 360 - 180, tile_lat(ty + 1, n))
            href = template.replace("{z}", str(zoom)).replace("{x}", str(tx)).replace("{y}", str(ty))
            tiles.append({"href": href, "x": round(left, 1), "y": round(top, 1),
                          "w": round(right - left, 1), "h": round(bottom - top, 1)})
    return tiles
