"""The demo's JSON edge: strict request bodies, JSON errors, and how a JSON client authenticates.

Every JSON endpoint is wrapped in ``json_endpoint``: it answers an anonymous caller with
``401 {"error": ..., "login_url": ...}`` (not a redirect to an HTML page), turns ``ApiError`` into
``{"error": message}`` with the error's status, and never lets bad input reach a 500.

``read_json(request, max_bytes=...)`` is the one way a body is read. In order, and each with its
own clear 4xx: the content type must be ``application/json`` (415), the declared length must be
within ``max_bytes`` (413, checked before a byte is read), the body must be UTF-8 (400), nested no
deeper than ``MAX_DEPTH`` (400), and be JSON as RFC 8259 defines it: Python's parser accepts
``NaN``, ``Infinity`` and ``-Infinity`` by default and reads ``1e400`` as ``inf``; here all of
those are refused (400), so no non-finite number gets past the boundary.

Authentication is Django's session plus its CSRF token, the same as the HTML pages: a client logs
in at ``/accounts/login/``, reads the ``csrftoken`` cookie (``GET /sites/`` sets it), and sends it
back in the ``X-CSRFToken`` header on every POST. Nothing is exempt from CSRF: a JSON API reached
by a browser with cookies is as forgeable as a form. A failed CSRF check on a JSON request is
answered in JSON (``csrf_failure``, wired as ``CSRF_FAILURE_VIEW``).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.csrf import csrf_failure as django_csrf_failure

__all__ = ["MAX_DEPTH", "ApiError", "csrf_failure", "json_endpoint", "parse_json", "read_json", "setting"]

MAX_DEPTH = 16  # a GeoJSON Feature nests 5 deep; nothing the demo accepts needs more
JSON_TYPES = frozenset({"application/json", "application/geo+json"})


class ApiError(Exception):
    """A request the API refuses: ``status`` is the HTTP status, ``message`` is shown to the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def read_json(request: HttpRequest, *, max_bytes: int) -> Any:
    """The request's body as JSON, or ``ApiError`` (415, 413 or 400) saying what is wrong with it."""
    if request.content_type not in JSON_TYPES:
        shown = request.content_type or "none"
        raise ApiError(415, f"the body must be JSON (Content-Type: application/json), got {shown}")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "the Content-Length header is not a number") from None
    if declared > max_bytes:
        raise ApiError(413, f"the body is {declared} bytes; the limit is {max_bytes}")
    body = request.body
    if len(body) > max_bytes:  # a body without a declared length
        raise ApiError(413, f"the body is over the limit of {max_bytes} bytes")
    return parse_json(body)


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8, nested at most ``MAX_DEPTH`` deep, finite numbers only."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text") from None
    if not text.strip():
        raise ApiError(400, "the body is empty; expected a JSON object")
    if _depth(text) > MAX_DEPTH:
        raise ApiError(400, f"the JSON is nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ApiError:
        raise
    except RecursionError:  # belt and braces: _depth should have refused it already
        raise ApiError(400, "the JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and ints over Python's 4300-digit conversion limit
        raise ApiError(400, f"the body is not valid JSON: {_short(exc)}") from None


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]")


def _depth(text: str) -> int:
    # Brackets inside strings do not nest; strip the strings, then count. Unbalanced text is left
    # for the parser to reject with its own message.
    deepest = depth = 0
    for bracket in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ApiError(400, f"the body is not valid JSON: {name} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ApiError(400, f"the number {literal[:40]} is too large")
    return value


def _short(exc: Exception) -> str:
    return str(exc).split(": value has")[0][:200]


def json_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required (401 in JSON otherwise); ``ApiError`` becomes a JSON error response."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": "login required", "login_url": reverse("accounts:login")}, status=401)
        try:
            return view(request, *args, **kwargs)
        except ApiError as exc:
            return JsonResponse({"error": exc.message}, status=exc.status)

    return wrapper


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """403 in JSON for JSON clients, Django's own page for browsers."""
    accepts_json = "json" in request.headers.get("Accept", "") or request.content_type in JSON_TYPES
    if accepts_json:
        return JsonResponse(
            {"error": f"CSRF check failed: {reason}. Send the csrftoken cookie's value in the X-CSRFToken header."},
            status=403,
        )
    return django_csrf_failure(request, reason=reason)


def setting(name: str, default: Any) -> Any:
    """A demo setting read at call time (so ``override_settings`` works), with its default."""
    return getattr(settings, name, default)
