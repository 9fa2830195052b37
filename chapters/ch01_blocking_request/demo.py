"""Chapter 1 demo: what the slow work does to a request, then what a thread per request
does to the process.

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
    print(
        f"blocking:           password reset answered in {reset_blocking:.2f} s (the "
        "email is inside it)"
    )
    print(
        f"blocking:           site analysis answered in  {analysis_blocking:.2f} s"
        " (the analysis is inside it)"
    )

    background = ThreadPerRequestApp()
    _, reset_background = timed(lambda: background.password_reset("ana@example.org"))
    print(
        f"thread per request: password reset answered in {reset_background * 1000:.1f} "
        "ms"
    )

    # Twenty analyses that have not heard back from Earth Engine yet: each holds its
    # thread.
    google_answers = threading.Event()
    running = threading.Condition()
    threads: set[str] = set()

    def analyse(site_id: int) -> None:
        with running:
            threads.add(threading.current_thread().name)
            running.notify_all()
        google_answers.wait()

    waiting = ThreadPerRequestApp(analyse=analyse)
    for site_id in range(20):
        waiting.site_analysis(site_id)
    with running:
        running.wait_for(lambda: len(threads) == 20, timeout=10)
        during = len(threads)
    print(
        f"thread per request: 20 analysis requests -> {during} threads at once;"
        " nothing bounds them"
    )
    google_answers.set()
    return {
        "reset_blocking": reset_blocking,
        "analysis_blocking": analysis_blocking,
        "reset_background": reset_background,
        "extra_threads": during,
    }


if __name__ == "__main__":
    main()
