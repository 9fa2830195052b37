"""Chapter 3 demo: a pool of workers runs analyses side by side, refuses bad input, and
joins with a timeout.

    python -m chapters.ch03_pool.demo

Every number printed is measured on this run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from chapters.ch02_one_worker import Worker

from .pool import WorkerPool

ANALYSIS_SECONDS = 0.3


def main(print: Callable[..., None] = print) -> dict[str, Any]:
    results: dict[str, Any] = {}

    runners: list[tuple[str, Worker | WorkerPool]] = [
        ("ch02 Worker", Worker("site")),
        ("WorkerPool(workers=4)", WorkerPool("site", workers=4)),
    ]
    for label, runner in runners:
        started = time.perf_counter()
        for _ in range(4):
            runner.submit(time.sleep, ANALYSIS_SECONDS)
        runner.join()
        results[label] = elapsed = time.perf_counter() - started
        print(f"{label:22} ran 4 analyses of {ANALYSIS_SECONDS} s in {elapsed:.2f} s")

    for bad in (
        lambda: WorkerPool("site", workers=0),
        lambda: WorkerPool("site").submit("analyse_site", 42),
    ):
        try:
            bad()
        except (TypeError, ValueError) as exc:
            print(f"refused at the caller: {type(exc).__name__}: {exc}")

    pool = WorkerPool("site", workers=2)
    release = threading.Event()
    pool.submit(release.wait)
    results["join_while_blocked"] = finished = pool.join(timeout=0.2)
    print(
        f"join(timeout=0.2) while a task is blocked returns {finished}:"
        " the caller decides what next"
    )
    release.set()
    results["join_after_release"] = finished = pool.join(timeout=5)
    print(f"join(timeout=5) after the task is released returns {finished}")
    return results


if __name__ == "__main__":
    main()
