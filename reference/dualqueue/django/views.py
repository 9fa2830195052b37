"""The status endpoints: JSON for machines, a page for people, Prometheus metrics for scrapers.

All three show every worker process of the server, whichever process answers: this process's
picture (``registry.snapshot()``: pools, debouncers, dead letters, recent tasks, error rates,
result stores, pid) and, from ``dualqueue.django.processes``, every process that published its
own (live ones, and for a while the ones that exited or died, with what they left unfinished)
and the totals of the live ones. All three are guarded the same way, by
``DUALQUEUE["STATUS_ACCESS"]``:

* ``"staff"``: an active staff user's session;
* ``"token"``: ``Authorization: Bearer <token>``, where the token is the environment variable
  ``DUALQUEUE_STATUS_TOKEN`` (read per request; unset or empty disables token access), compared
  in constant time;
* ``"staff-or-token"`` (the default): either.

Everyone else is refused, and a refusal tells nothing about the tasks (no pool name, no count,
no error text): **401** with ``WWW-Authenticate: Bearer`` when no valid credentials came (no
session, or an ``Authorization`` header that is wrong, malformed or oversized), **403** for a
logged-in user who is not staff (the HTML page answers it with a page, ``dualqueue/403.html``,
that says only that the page is for staff). The HTML page sends an anonymous visitor without an
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

from . import conf, metrics, processes, registry

__all__ = ["dead_letters", "metrics_view", "picture", "recent_tasks", "status", "status_page"]

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
        # A person at the page gets a page (the project's layout, nothing about the tasks).
        return render(request, "dualqueue/403.html", status=403) if page else _forbidden()
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


def picture() -> dict[str, Any]:
    """This process's picture (``registry.snapshot()``) plus every published process's and the totals."""
    own = registry.snapshot()
    own.update(processes.collect(own))
    return own


@_guarded()
def status(request: HttpRequest) -> HttpResponse:
    """``GET status/``: the picture as JSON: this process's at the top level, every process's under ``processes``."""
    return JsonResponse(picture(), json_dumps_params={"indent": 2})


RECENT_SHOWN = 10  # recent tasks shown per pool on the page (each process keeps its own ring)


@_guarded(page=True)
def status_page(request: HttpRequest) -> HttpResponse:
    """``GET status/page/``: the picture for people; the page fetches the JSON and updates itself in place.

    The template is ``dualqueue/status.html``, which extends ``dualqueue/base.html``: a project
    gives the page its own layout by providing a ``dualqueue/base.html`` of its own (with a
    ``content`` block, and ``head`` for styles), and may add sections by extending
    ``dualqueue/status.html`` and filling its ``extra`` block.
    """
    shown = picture()
    context = {
        "picture": shown,
        "pools": list(shown["pools"].values()),
        "debouncers": list(shown["debouncers"].values()),
        "dead_letters": dead_letters(shown),
        "recent": recent_tasks(shown),
        "results": sorted(shown["results"]["backends"].items()),
        "refresh_seconds": 2,
    }
    return render(request, "dualqueue/status.html", context)


def recent_tasks(shown: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per pool, the last ``RECENT_SHOWN`` finished tasks of every live process, newest first."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for process in shown["processes"]:
        if process["state"] != "live":
            continue
        for name, pool in process["pools"].items():
            merged.setdefault(name, []).extend({**task, "pid": process["pid"]} for task in pool.get("recent", ()))
    return {
        name: sorted(tasks, key=lambda t: t.get("finished_at") or "", reverse=True)[:RECENT_SHOWN]
        for name, tasks in merged.items()
    }


def dead_letters(shown: dict[str, Any]) -> list[dict[str, Any]]:
    """Every process's dead letters (live or not), newest first, each with its pool and pid."""
    letters = [
        {"pool": name, "pid": process["pid"], **letter}
        for process in shown["processes"]
        for name, pool in process["pools"].items()
        for letter in pool.get("dead_letters", ())
    ]
    return sorted(letters, key=lambda letter: str(letter.get("failed_at") or ""), reverse=True)


@_guarded()
def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET metrics/``: every live process's picture in Prometheus's text format, each series labelled by pid."""
    text, content_type = metrics.render(picture())
    return HttpResponse(text, content_type=content_type)
