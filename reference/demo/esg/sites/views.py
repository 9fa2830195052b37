"""The sites API (JSON; session login and CSRF token, see ``esg.jsonapi``).

=========================================  ======  =================================================
``/sites/``                                GET     your sites (and the ``csrftoken`` cookie)
``/sites/``                                POST    ``{"name", "geometry"}`` -> 201 ``{"id", "url"}``
``/sites/<id>/``                           GET     one of your sites
``/sites/<id>/analyses/``                  POST    optional ``{"start", "end"}`` -> 202 ``{"result_id", "status_url"}``
``/sites/<id>/analyses/<result_id>/``      GET     ``{"status", "result"}`` or ``{"status", "errors"}``
=========================================  ======  =================================================

Another user's site, a site or result id that does not exist, and a result id that belongs to
another site all get the same 404: the API does not say which ids exist. Ids are taken from the
URL as text and parsed here, so a malformed id is a JSON 404 too, not Django's HTML page.

An analysis is admitted only while its owner has fewer than ``SITE_MAX_UNFINISHED_ANALYSES``
(20) waiting or running, counted in the database (``esg.admission``: 429 with ``Retry-After``),
and only while the site pool has room (``DUALQUEUE["MAXSIZE"]``: 503 with ``Retry-After``).
Either refusal stores nothing.
"""

from __future__ import annotations

import datetime
import functools
import logging
import uuid
from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from dualqueue.django import progress_of

from esg import admission
from esg.jsonapi import ApiError, json_endpoint, read_body, read_json, setting, unknown_fields

from . import earth_engine
from .geojson import GeometryError, Limits, polygon_area_km2, validate_polygon
from .models import Analysis, Site
from .reconcile import reconcile
from .tasks import analyse_site

logger = logging.getLogger("esg.sites")

NAME_MAX = 200
# Sentinel-2 surface reflectance (L2A) is archived globally from this date.
S2_SR_FIRST_DAY = datetime.date(2017, 3, 28)
MAX_WINDOW_DAYS = 5 * 366
WINDOW_MAX_BYTES = 10_000


def _limits() -> Limits:
    return Limits(
        max_vertices=int(setting("SITE_MAX_VERTICES", 10_000)),
        max_area_km2=float(setting("SITE_MAX_AREA_KM2", 10_000.0)),
    )


def _allow(request: HttpRequest, *methods: str) -> None:
    if request.method not in methods:
        raise ApiError(405, f"method {request.method} is not allowed here; use {' or '.join(methods)}")


def _own_site(request: HttpRequest, site_id: str) -> Site:
    # Digits only, and within a 64-bit key: int() would accept " 7", "+7" and "7_0", and SQLite
    # raises OverflowError for a larger number.
    pk = int(site_id) if site_id.isascii() and site_id.isdigit() and len(site_id) <= 18 else None
    site = Site.objects.filter(pk=pk, owner=request.user).first() if pk is not None else None
    if site is None:
        raise ApiError(404, f"no site {site_id!r} among yours")
    return site


def _site_json(site: Site) -> dict[str, Any]:
    return {
        "id": site.id,
        "name": site.name,
        "area_km2": round(site.area_km2, 6),
        "created": site.created.isoformat(),
        "url": reverse("sites:detail", args=[site.id]),
    }


@ensure_csrf_cookie
@json_endpoint
def site_list(request: HttpRequest) -> JsonResponse:
    _allow(request, "GET", "POST")
    if request.method == "GET":
        return JsonResponse({"sites": [_site_json(site) for site in Site.objects.filter(owner=request.user)]})

    body = read_json(request, max_bytes=int(setting("SITE_MAX_BODY_BYTES", 1_000_000)))
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be a JSON object: {"name": ..., "geometry": {GeoJSON Polygon}}')
    unknown = unknown_fields(body, {"name", "geometry"})
    if unknown:
        raise ApiError(400, f"unknown fields: {unknown}; expected name and geometry")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "name must be a non-empty string")
    name = name.strip()
    if len(name) > NAME_MAX or not name.isprintable():
        raise ApiError(400, f"name must be at most {NAME_MAX} printable characters")
    if "geometry" not in body:
        raise ApiError(400, "geometry is required: a GeoJSON Polygon")
    try:
        geometry = validate_polygon(body["geometry"], _limits())
    except GeometryError as exc:
        raise ApiError(400, f"geometry: {exc}") from None
    site = Site.objects.create(
        name=name, geometry=geometry, area_km2=polygon_area_km2(geometry["coordinates"]), owner=request.user
    )
    return JsonResponse({"id": site.id, "url": reverse("sites:detail", args=[site.id])}, status=201)


@json_endpoint
def site_detail(request: HttpRequest, site_id: str) -> JsonResponse:
    _allow(request, "GET")
    site = _own_site(request, site_id)
    reconcile(site.analyses.all())  # rows whose process is gone read as FAILED (lost), not RUNNING forever
    recent = [
        {"result_id": str(a.id), "status": a.status, "status_url": _status_url(a)}
        for a in site.analyses.all()[:20]
    ]
    return JsonResponse({**_site_json(site), "geometry": site.geometry, "analyses": recent})


@json_endpoint
def analyses(request: HttpRequest, site_id: str) -> JsonResponse:
    _allow(request, "POST")
    site = _own_site(request, site_id)
    start, end = _window(request)
    analysis = start_analysis(request.user, site, start, end)
    return JsonResponse({"result_id": str(analysis.pk), "status_url": _status_url(analysis)}, status=202)


def start_analysis(
    user: Any, site: Site, start: datetime.date, end: datetime.date, run_after: datetime.datetime | None = None
) -> Analysis:
    """Admit, store and queue one analysis: the one way in, for the JSON API and the HTML pages.

    With ``run_after`` it is scheduled: the task is deferred to that instant (``run_after`` of
    Django Tasks), and waits in the database, so a restart in between does not lose it.

    Raises ``ApiError`` (429 over the owner's limit of unfinished analyses, 503 with the site pool
    full) and then stores nothing.
    """
    with transaction.atomic():
        admission.admit(
            user,
            Analysis.objects.filter(
                site__owner=user, status__in=UNFINISHED, created__gte=admission.counted_since()
            ).count,
            limit=int(setting("SITE_MAX_UNFINISHED_ANALYSES", 20)),
            what="analyses",
            retry_after=admission.BUSY_RETRY_AFTER,
        )
        analysis = Analysis.objects.create(site=site, start=start, end=end, run_after=run_after)
    _enqueue(analysis)
    return analysis


UNFINISHED = (Analysis.Status.READY, Analysis.Status.RUNNING)


def _enqueue(analysis: Analysis) -> None:
    """Queue the analysis on the site pool; a full or closed pool deletes the row and answers 503.

    The worker thread must find the row committed. A request runs outside a transaction (the demo
    does not set ``ATOMIC_REQUESTS``), so the row is committed here and a refusal can still undo
    it. Inside an outer transaction the task is queued on commit instead, and a refusal then is
    recorded on the row, where the client will look.
    """
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(functools.partial(_enqueue_on_commit, analysis.pk, analysis.run_after))
        return
    try:
        result = admission.enqueue(_task(analysis.run_after), str(analysis.pk))
    except ApiError:
        analysis.delete()
        raise
    Analysis.objects.filter(pk=analysis.pk).update(task_result_id=result.id)


def _task(run_after: datetime.datetime | None) -> Any:
    return analyse_site if run_after is None else analyse_site.using(run_after=run_after)


def _enqueue_on_commit(analysis_id: uuid.UUID, run_after: datetime.datetime | None = None) -> None:
    try:
        result = admission.enqueue(_task(run_after), str(analysis_id))
    except ApiError as exc:
        logger.error("analysis %s could not be queued: %s", analysis_id, exc.message)
        error = {"type": "QueueFullError", "message": f"could not be queued: {exc.message}"[:500]}
        Analysis.objects.filter(pk=analysis_id).update(status=Analysis.Status.FAILED, error=error)
        return
    Analysis.objects.filter(pk=analysis_id).update(task_result_id=result.id)


def _window(request: HttpRequest) -> tuple[datetime.date, datetime.date]:
    default = tuple(datetime.date.fromisoformat(d) for d in earth_engine.default_window())
    if not read_body(request, max_bytes=WINDOW_MAX_BYTES):
        return default  # type: ignore[return-value]
    body = read_json(request, max_bytes=WINDOW_MAX_BYTES)
    if not isinstance(body, dict):
        raise ApiError(400, 'the body, when present, must be a JSON object: {"start": "YYYY-MM-DD", "end": ...}')
    unknown = unknown_fields(body, {"start", "end"})
    if unknown:
        raise ApiError(400, f"unknown fields: {unknown}; expected start and end")
    start = _date(body, "start", default[0])
    end = _date(body, "end", default[1])
    if not start < end:
        raise ApiError(400, "start must be before end")
    if start < S2_SR_FIRST_DAY:
        raise ApiError(400, f"start must be on or after {S2_SR_FIRST_DAY} (Sentinel-2 surface reflectance)")
    if end > datetime.date.today() + datetime.timedelta(days=1):
        raise ApiError(400, "end must not be in the future")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise ApiError(400, f"the window is at most {MAX_WINDOW_DAYS} days")
    return start, end


def _date(body: dict[str, Any], key: str, default: datetime.date) -> datetime.date:
    if key not in body:
        return default
    value = body[key]
    if not isinstance(value, str) or len(value) != 10:
        raise ApiError(400, f"{key} must be a date as YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"{key} must be a date as YYYY-MM-DD") from None


def _status_url(analysis: Analysis) -> str:
    return reverse("sites:analysis", args=[analysis.site_id, str(analysis.pk)])


@json_endpoint
def analysis_status(request: HttpRequest, site_id: str, result_id: str) -> JsonResponse:
    _allow(request, "GET")
    site = _own_site(request, site_id)
    try:
        pk = uuid.UUID(result_id)
    except ValueError:
        pk = None
    if pk is not None:
        reconcile(Analysis.objects.filter(pk=pk, site=site))
    analysis = Analysis.objects.filter(pk=pk, site=site).first() if pk is not None else None
    if analysis is None:
        raise ApiError(404, f"no analysis {result_id!r} for site {site.id}")
    answer: dict[str, Any] = {"result_id": str(analysis.pk), "site_id": site.id, "status": analysis.status}
    if analysis.status == Analysis.Status.RUNNING and analysis.task_result_id:
        progress = progress_of(analysis.task_result_id)
        if progress is not None:
            answer["progress"] = {k: progress[k] for k in ("current", "total", "fraction", "message")}
    if analysis.status == Analysis.Status.SUCCESSFUL:
        answer["result"] = analysis.result
    elif analysis.status == Analysis.Status.FAILED:
        answer["errors"] = [analysis.error]
    return JsonResponse(answer)
