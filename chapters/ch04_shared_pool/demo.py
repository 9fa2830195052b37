"""Chapter 4 demo: one shared pool of 12, with and without priority, under twelve long
analyses.

    python -m chapters.ch04_shared_pool.demo

Every number printed is measured on this run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .experiment import email_runs_while_analyses_block, first_start_after_one_release
from .shared import SEED_WORKERS, PrioritizedTasks, SharedTasks

ANALYSIS_SECONDS = 0.3


def email_start_delay(
    tasks: SharedTasks, analyses: int, busy: int = SEED_WORKERS
) -> float:
    """Seconds from submitting an email to its start, once ``busy`` of ``analyses``
    short analyses run."""
    email_started = threading.Event()
    running = threading.Semaphore(0)

    def analysis() -> None:
        running.release()
        time.sleep(ANALYSIS_SECONDS)

    for _ in range(analyses):
        tasks.submit("site", analysis)
    for _ in range(busy):
        running.acquire(timeout=10)
    submitted = time.perf_counter()
    tasks.submit("general", email_started.set)
    email_started.wait(timeout=10)
    delay = time.perf_counter() - submitted
    tasks.join(timeout=10)
    return delay


def main(print: Callable[..., None] = print) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, make in (
        ("shared pool", SharedTasks),
        ("shared pool + priority", PrioritizedTasks),
    ):
        ran = email_runs_while_analyses_block(
            make(), site_workers=SEED_WORKERS, timeout=0.5
        )
        first = first_start_after_one_release(make())
        delay = email_start_delay(make(), analyses=24)
        results[label] = {
            "email_ran_while_blocked": ran,
            "first_after_release": first,
            "email_delay": delay,
        }
        print(f"{label}:")
        print(
            "  12 analyses blocked, email submitted: did it run while they were "
            f"blocked? {ran}"
        )
        print(f"  one analysis finishes: the freed worker starts {first!r}")
        print(
            f"  12 analyses of {ANALYSIS_SECONDS} s running, 12 queued: the email "
            f"started after {delay:.2f} s"
        )
    return results


if __name__ == "__main__":
    main()
