"""The demo's JSON edge: strict request bodies, JSON errors, and how a JSON client authenticates.

Every JSON endpoint is wrapped in ``json_endpoint``: it answers an anonymous caller with
``401 {"error": ..., "login_url": ...}`` (not a redirect to an HTML page), turns ``ApiError`` into
``{"error": message}`` with the error's status, and never lets bad input reach a 500.

``read_json(request, max_bytes=...)`` is the one way a body is read. In order, and each with its
own clear 4xx: the content type must be ``application/json`` (415), the declared length must be
within ``max_bytes`` (413, checked before a byte is read; at most ``max_bytes + 1`` bytes are
ever read), the body must be UTF-8 (400), be JSON as RFC 8259 defines it (400: Python's parser
accepts ``NaN``, ``Infinity`` and ``-Infinity`` by default and reads ``1e400`` as ``inf``; here
all of those are refused, and so is any number literal over ``MAX_NUMBER_CHARS``), and, measured
after parsing, be nested no deeper than ``MAX_DEPTH`` and hold no lone surrogate (400).

**Linear time, by construction.** The body is parsed exactly once, by the json module's scanner,
before anything looks at its structure; the depth is measured on the parsed value by an
iterative walk that visits each node once. No regular expression ever runs over a body: an
earlier version stripped strings with one before parsing, and a 60 KB run of escaped quotes
(``'"' + '\\"' * 30000``) held a gunicorn worker for minutes (quadratic backtracking).
``tests/demo/test_linear_parsing.py`` proves the growth is linear.

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
from collections.abc import Callable
from typing import Any, NamedTuple

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.csrf import csrf_failure as django_csrf_failure

__all__ = [
    "MAX_DEPTH",
    "MAX_NUMBER_CHARS",
    "ApiError",
    "Shape",
    "csrf_failure",
    "json_endpoint",
    "measure",
    "parse_json",
    "read_body",
    "read_json",
    "setting",
    "unknown_fields",
]

MAX_DEPTH = 16  # a GeoJSON Feature nests 5 deep; nothing the demo accepts needs more
MAX_NUMBER_CHARS = 100  # a double needs at most 17 significant digits; a coordinate, about 20 characters
JSON_TYPES = frozenset({"application/json", "application/geo+json"})


class ApiError(Exception):
    """A request the API refuses: ``status`` is the HTTP status, ``message`` is shown to the client.

    ``retry_after`` (seconds) becomes a ``Retry-After`` header: a 429 or 503 says when to come back.
    """

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": self.message}, status=self.status)
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response


def read_json(request: HttpRequest, *, max_bytes: int) -> Any:
    """The request's body as JSON, or ``ApiError`` (415, 413 or 400) saying what is wrong with it."""
    if request.content_type not in JSON_TYPES:
        shown = (request.content_type or "none")[:100]
        raise ApiError(415, f"the body must be JSON (Content-Type: application/json), got {shown}")
    return parse_json(read_body(request, max_bytes=max_bytes))


def read_body(request: HttpRequest, *, max_bytes: int) -> bytes:
    """The body, or ``ApiError(413)`` if it is over ``max_bytes``; never reads more than ``max_bytes + 1``.

    The declared ``Content-Length`` is checked before a byte is read; what arrives is checked
    again, in case it is more than was declared.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "the Content-Length header is not a number") from None
    if declared > max_bytes:
        raise ApiError(413, f"the body is {declared} bytes; the limit is {max_bytes}")
    if hasattr(request, "_body"):  # already read (a test client, a middleware): it is in memory anyway
        body = request.body
    else:
        body = request.read(max_bytes + 1)
        request._body = body  # request.body keeps working for code that reads it later
    if len(body) > max_bytes:
        raise ApiError(413, f"the body is over the limit of {max_bytes} bytes")
    return body


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8, finite numbers only, nested at most ``MAX_DEPTH`` deep, no lone surrogates.

    Linear in ``len(body)`` by construction: the text is parsed once by the json module's own
    scanner (a single pass; its C recursion is bounded by the interpreter and surfaces as
    ``RecursionError``), number literals are refused by length before they are converted, and
    then the parsed value is measured by ``measure``, which visits each node once.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text") from None
    if not text.strip():
        raise ApiError(400, "the body is empty; expected a JSON object")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except ApiError:
        raise
    except RecursionError:
        raise ApiError(400, f"the JSON is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # JSONDecodeError
        raise ApiError(400, f"the body is not valid JSON: {_short(exc)}") from None
    measure(value)
    return value


def measure(value: Any) -> Shape:
    """The depth and node count of a parsed JSON value, walked iteratively (no recursion, each node once).

    Raises ``ApiError(400)`` for a value nested deeper than ``MAX_DEPTH`` and for a string (or an
    object key) holding a lone surrogate (``"\\ud800"``): JSON lets an escape spell one, but no
    UTF-8 text can hold it, so it could be neither stored nor shown.
    """
    nodes = deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            raise ApiError(400, f"the JSON is nested more than {MAX_DEPTH} levels deep")
        deepest = max(deepest, depth)
        if isinstance(item, str):
            _text(item)
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _text(key)
                stack.append((child, depth + 1))
    return Shape(depth=deepest, nodes=nodes)


class Shape(NamedTuple):
    depth: int
    nodes: int


def _text(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "the JSON holds a lone surrogate escape (such as \\ud800), which is not text") from None


def _refuse_constant(name: str) -> Any:
    raise ApiError(400, f"the body is not valid JSON: {name} is not a JSON number")


def _finite_float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        raise ApiError(400, f"a number in the JSON is longer than {MAX_NUMBER_CHARS} characters")
    value = float(literal)
    if not math.isfinite(value):
        raise ApiError(400, f"the number {literal[:40]} is too large")
    return value


def _bounded_int(literal: str) -> int:
    # Checked before int() sees it: converting a long decimal string is not linear in its length.
    if len(literal) > MAX_NUMBER_CHARS:
        raise ApiError(400, f"a number in the JSON is longer than {MAX_NUMBER_CHARS} characters")
    return int(literal)


def _short(exc: Exception) -> str:
    return str(exc)[:200]


def json_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required (401 in JSON otherwise); ``ApiError`` becomes a JSON error response."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": "login required", "login_url": reverse("accounts:login")}, status=401)
        try:
            return view(request, *args, **kwargs)
        except ApiError as exc:
            return exc.response()

    return wrapper


def unknown_fields(body: dict[str, Any], expected: set[str]) -> str:
    """The keys of ``body`` outside ``expected``, named for an error message ('' if none).

    At most five are named, sorted, each cut to 40 characters: a body with 100,000 keys costs
    one pass over them, not a sort of them all.
    """
    unknown: list[str] = []
    extra = 0
    for key in body:
        if key not in expected:
            if len(unknown) < 5:
                unknown.append(key[:40])
            else:
                extra += 1
    named = ", ".join(sorted(unknown))
    return f"{named} and {extra} more" if extra else named


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
