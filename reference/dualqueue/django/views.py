"""The status endpoints: JSON for machines, a page for people, Prometheus metrics for scrapers.

All three show this process's picture (``registry.snapshot()``: pools, debouncers, dead
letters, error rates, result stores, pid) and all three are guarded the same way, by
``DUALQUEUE["STATUS_ACCESS"]``:

* ``"staff"``: an active staff user's session;
* ``"token"``: ``Authorization: Bearer <token>``, where the token is the environment variable
  ``DUALQUEUE_STATUS_TOKEN`` (read per request; unset or empty disables token access), compared
  in constant time;
* ``"staff-or-token"`` (the default): either.

Everyone else is refused, and a refusal tells nothing about the tasks (no pool name, no count,
no error text): **401** with ``WWW-Authenticate: Bearer`` when no valid credentials came (no
session, or an ``Authorization`` header that is wrong, malformed or oversized), **403** for a
logged-in user who is not staff. The HTML page sends an anonymous visitor without an
``Authorization`` header to the login page instead of a bare 401. Every response, refusals
included, is ``Cache-Control: no-store``.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import conf, metrics, registry

__all__ = ["metrics_view", "status", "status_page"]

MAX_AUTHORIZATION_LENGTH = 1024  # longer headers are refused unread
# RFC 6750 b64token: what may follow "Bearer " (exactly one space).
_BEARER = re.compile(r"Bearer ([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)

View = Callable[..., HttpResponse]


def _unauthorized() -> HttpResponse:
    response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = 'Bearer realm="dualqueue"'
    return response


def _forbidden() -> HttpResponse:
    return HttpResponse("Forbidden.\n", status=403, content_type="text/plain; charset=utf-8")


def bearer_token_valid(header: str) -> bool:
    """True if ``header`` is ``Bearer <token>`` with the configured token; never raises."""
    expected = os.environ.get(conf.TOKEN_ENV_VAR, "").strip()
    if not expected or len(header) > MAX_AUTHORIZATION_LENGTH:
        return False
    match = _BEARER.fullmatch(header)
    if match is None:
        return False
    return hmac.compare_digest(match.group(1).encode("ascii"), expected.encode("utf-8"))


def _refusal(request: HttpRequest, *, page: bool) -> HttpResponse | None:
    """None if the request may see the status, else the response that refuses it."""
    settings = conf.get_settings()
    user = getattr(request, "user", None)  # None without AuthenticationMiddleware: token only
    if settings.staff_allowed and user is not None and user.is_active and user.is_staff:
        return None
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is not None:
        return None if settings.token_allowed and bearer_token_valid(header) else _unauthorized()
    if user is not None and user.is_authenticated:
        return _forbidden()
    if page and settings.staff_allowed:
        return redirect_to_login(request.get_full_path())
    return _unauthorized()


def _guarded(*, page: bool = False) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        safe_view = require_safe(view)

        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = _refusal(request, page=page) or safe_view(request, *args, **kwargs)
            response["Cache-Control"] = "no-store"
            return response

        return guarded

    return decorate


@_guarded()
def status(request: HttpRequest) -> HttpResponse:
    """``GET status/``: the picture as JSON."""
    return JsonResponse(registry.snapshot(), json_dumps_params={"indent": 2})


@_guarded(page=True)
def status_page(request: HttpRequest) -> HttpResponse:
    """``GET status/page/``: the picture for people; the page reloads itself every few seconds."""
    picture = registry.snapshot()
    context = {
        "picture": picture,
        "pools": list(picture["pools"].values()),
        "debouncers": list(picture["debouncers"].values()),
        "dead_letters": [
            {"pool": name, **letter} for name, pool in picture["pools"].items() for letter in pool["dead_letters"]
        ],
        "results": sorted(picture["results"]["backends"].items()),
        "refresh_seconds": 5,
    }
    return render(request, "dualqueue/status.html", context)


@_guarded()
def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET metrics/``: the picture in Prometheus's text format."""
    text, content_type = metrics.render(registry.snapshot())
    return HttpResponse(text, content_type=content_type)
