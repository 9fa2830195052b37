"""Chapter 5 demo: chapter 4's workload on two pools, then a bounded site queue under
overload.

    python -m chapters.ch05_two_queues.demo

Every number printed is measured on this run.
"""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable
from typing import Any

from chapters.ch04_shared_pool.experiment import email_runs_while_analyses_block

from .errors import QueueFullError
from .pool import WorkerPool
from .system import TaskSystem

ANALYSIS_SECONDS = 0.3


def email_start_delay(tasks: TaskSystem, analyses: int) -> float:
    """Seconds from submitting an email to its start, once every site worker runs a
    short analysis."""
    email_started = threading.Event()
    running = threading.Semaphore(0)

    def analysis() -> None:
        running.release()
        time.sleep(ANALYSIS_SECONDS)

    for _ in range(analyses):
        tasks.submit("site", analysis)
    for _ in range(tasks["site"].workers):
        running.acquire(timeout=10)
    submitted = time.perf_counter()
    tasks.submit("general", email_started.set)
    email_started.wait(timeout=10)
    delay = time.perf_counter() - submitted
    tasks.join(timeout=10)
    return delay


def main(print: Callable[..., None] = print) -> dict[str, Any]:
    ran = email_runs_while_analyses_block(TaskSystem(), site_workers=10)
    print(
        "TaskSystem(general=2, site=10): 12 analyses blocked, an email submitted:\n"
        f"  did it run meanwhile? {ran}"
    )
    delay = email_start_delay(TaskSystem(), analyses=24)
    print(
        f"  10 analyses of {ANALYSIS_SECONDS} s running, 14 queued: the email started "
        f"after {delay * 1000:.1f} ms"
    )

    tasks = TaskSystem(general=2, site=WorkerPool("site", workers=10, maxsize=5))
    release = threading.Event()
    running = threading.Semaphore(0)

    def analyse_site() -> None:
        running.release()
        release.wait()

    for _ in range(
        10
    ):  # one at a time, so that every worker holds one before the queue fills
        tasks.submit("site", analyse_site)
        running.acquire(timeout=10)
    accepted, refused = 10, 0
    for _ in range(20):
        try:
            tasks.submit("site", analyse_site)
            accepted += 1
        except QueueFullError as exc:
            refused += 1
            message = str(exc)  # the same message each time
    email_sent = threading.Event()
    tasks.submit("general", email_sent.set)
    email_ok = email_sent.wait(timeout=10)
    print(
        f"bounded site pool (10 workers busy, maxsize=5): 30 submits -> {accepted} "
        f"accepted, {refused} refused"
    )
    print("  the caller saw: QueueFullError:")
    print(textwrap.fill(message, 84, initial_indent="    ", subsequent_indent="    "))
    print(f"  meanwhile a general submit was accepted and ran: {email_ok}")
    release.set()
    tasks.join(timeout=10)
    return {
        "email_ran_while_blocked": ran,
        "email_delay": delay,
        "accepted": accepted,
        "refused": refused,
        "general_ran_while_site_full": email_ok,
    }


if __name__ == "__main__":
    main()
