"""Chapter 1 demo: what the slow work does to a request, then what a thread per request does to the process.

    python -m chapters.ch01_blocking_request.demo

The email takes 0.2 s and the "Earth Engine" analysis 1 s (30 s in production).
Every number printed is measured on this run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .views import BlockingApp, Response, ThreadPerRequestApp


def timed(request: Callable[[], Response]) -> tuple[Response, float]:
    started = time.perf_counter()
    response = request()
    return response, time.perf_counter() - started


def main(print: Callable[..., None] = print) -> dict[str, Any]:
    blocking = BlockingApp()
    _, reset_blocking = timed(lambda: blocking.password_reset("ana@example.org"))
    _, analysis_blocking = timed(lambda: blocking.site_analysis(42))
    print(f"blocking:           password reset answered in {reset_blocking:.2f} s (the email is inside it)")
    print(f"blocking:           site analysis answered in  {analysis_blocking:.2f} s (the analysis is inside it)")

    background = ThreadPerRequestApp()
    _, reset_background = timed(lambda: background.password_reset("ana@example.org"))
    print(f"thread per request: password reset answered in {reset_background * 1000:.1f} ms")

    before = threading.active_count()
    for site_id in range(20):
        background.site_analysis(site_id)
    during = threading.active_count() - before
    print(f"thread per request: 20 analysis requests -> {during} more threads running; nothing counts or bounds them")
    deadline = time.monotonic() + 10
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    return {
        "reset_blocking": reset_blocking,
        "analysis_blocking": analysis_blocking,
        "reset_background": reset_background,
        "extra_threads": during,
    }


if __name__ == "__main__":
    main()
