"""Refuse an oversized request body before anything reads it.

Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not count uploaded files, and the CSRF middleware
parses a multipart body (spooling files to disk) before any view could look at a size. This
middleware, first in ``MIDDLEWARE``, answers ``413`` to a request whose declared
``Content-Length`` is over ``MAX_REQUEST_BYTES``, reading none of it. The views keep their own,
smaller limits; this one is the ceiling for all of them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def _wants_html(request: HttpRequest) -> bool:
    """A browser navigating (a form post) rather than a script: HTML first in Accept, and not a JSON body."""
    accept = request.META.get("HTTP_ACCEPT", "")
    return accept.startswith("text/html") and "json" not in request.META.get("CONTENT_TYPE", "")


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = int(getattr(settings, "MAX_REQUEST_BYTES", 8 * 1024 * 1024))
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"error": "the Content-Length header is not a number"}, status=400)
        if declared > limit:
            if _wants_html(request):  # a browser's form post: a page it can show, sizes in MB
                context = {"size_mb": declared / 2**20, "limit_mb": limit / 2**20, "back": request.path}
                return render(request, "413.html", context, status=413)
            return JsonResponse({"error": f"the request body is {declared} bytes; the limit is {limit}"}, status=413)
        return self.get_response(request)
