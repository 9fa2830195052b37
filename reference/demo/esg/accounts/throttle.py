"""Login throttling for both doors (``/accounts/login/`` and ``/admin/login/``), counted in the database.

Every login POST counts against the client's address and against the user name it names (lower
case, trimmed), whether the password was right or not: counting before the password is checked
is what makes the limit exact under concurrent guesses, and a person who types their password
right does not log in ten times in fifteen minutes. Over either limit (``LOGIN_LIMITS``: 10 per
user name and 50 per address per 15 minutes by default) the answer is ``429`` with
``Retry-After`` and the password is not checked at all. The counts live in ``esg.accounts.ratelimit``'s
table, so every gunicorn worker process shares them.

The client's address is ``REMOTE_ADDR``: behind a reverse proxy, set it from the proxy's header in
the proxy or a middleware you trust, never from a header any client can send.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from esg.jsonapi import setting

from . import ratelimit

__all__ = ["DEFAULT_LOGIN_LIMITS", "refuse_login"]

DEFAULT_LOGIN_LIMITS = {"per_username": (10, 900), "per_ip": (50, 900)}
MAX_USERNAME = 150  # Django's user name field


def refuse_login(request: HttpRequest) -> HttpResponse | None:
    """For a login POST: count it, and return the 429 page if it is over a limit (None to go on)."""
    if request.method != "POST":
        return None
    limits = {**DEFAULT_LOGIN_LIMITS, **setting("LOGIN_LIMITS", {})}
    ip = request.META.get("REMOTE_ADDR") or "unknown"
    decisions = [ratelimit.hit(ratelimit.key_for("login-ip", ip), *limits["per_ip"])]
    username = request.POST.get("username", "")
    if isinstance(username, str) and username.strip():
        name = username.strip().lower()[:MAX_USERNAME]
        decisions.append(ratelimit.hit(ratelimit.key_for("login-user", name), *limits["per_username"]))
    refused = [d for d in decisions if not d.allowed]
    if not refused:
        return None
    retry_after = max(d.retry_after for d in refused)
    response = render(
        request, "accounts/login_limited.html", {"minutes": max(1, round(retry_after / 60))}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return response
