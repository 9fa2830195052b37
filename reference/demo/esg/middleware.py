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
            return JsonResponse({"error": f"the request body is {declared} bytes; the limit is {limit}"}, status=413)
        return self.get_response(request)
