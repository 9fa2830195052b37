"""The head-of-line experiment: twelve analyses hold the workers, then a password-reset
email arrives.

Causal, not timed: each analysis blocks on an ``Event`` that the experiment
holds closed, so "the email ran" can only happen if the email never waits
behind an analysis. A timeout appears only as a deadlock detector: when the
email cannot run, no amount of waiting would change the answer.

Works on anything with ``submit(queue, fn, /, *args)`` and ``join(timeout)``:
this chapter's ``SharedTasks`` and ``PrioritizedTasks``, and chapter 5's
``TaskSystem``.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

__all__ = [
    "ANALYSES",
    "email_runs_while_analyses_block",
    "first_start_after_one_release",
]

ANALYSES = 12  # as many as the seed's shared pool has workers


class Tasks(Protocol):
    def submit(self, queue: str, fn: Any, /, *args: Any, **kwargs: Any) -> None: ...

    def join(self, timeout: float | None = None) -> bool: ...


# --8<-- [start:email-runs]
def email_runs_while_analyses_block(
    tasks: Tasks, *, site_workers: int, analyses: int = ANALYSES, timeout: float = 10.0
) -> bool:
    """True if a general task runs while ``analyses`` site tasks are all still blocked.

    The email is submitted only once ``site_workers`` analyses are running (every
    worker that site work can reach is busy), so that no priority can sneak the
    email ahead of an analysis that simply had not been picked up yet.
    """
    release = threading.Event()
    email_sent = threading.Event()
    running = threading.Semaphore(0)

    def analysis() -> None:  # a 30-second Earth Engine call that has not returned yet
        running.release()
        release.wait()

    try:
        for _ in range(analyses):
            tasks.submit("site", analysis)
        for _ in range(site_workers):
            if not running.acquire(timeout=10.0):
                raise TimeoutError(f"fewer than {site_workers} analyses started")
        tasks.submit("general", email_sent.set)  # the password-reset email
        return email_sent.wait(timeout)  # a deadlock detector, not a latency budget
    finally:
        release.set()
        tasks.join(timeout)
        # --8<-- [end:email-runs]


# --8<-- [start:first-start]
def first_start_after_one_release(
    tasks: Tasks, *, workers: int = ANALYSES, waiting: int = 3
) -> str:
    """Which task starts when one of ``workers`` blocked analyses finishes?

    Fills every worker of a shared pool with an analysis, queues ``waiting`` more
    analyses and then an email, lets exactly one analysis finish, and returns the
    name of the one task that the freed worker starts next: ``"email"`` or
    ``"analysis-N"``. Only meaningful for one shared pool of ``workers`` threads.
    """
    started: list[str] = []
    lock = threading.Lock()
    changed = threading.Condition(lock)
    gates = [threading.Event() for _ in range(workers + waiting)]

    def task(name: str, gate: threading.Event | None) -> None:
        with changed:
            started.append(name)
            changed.notify_all()
        if gate is not None:
            gate.wait()

    try:
        for n in range(workers):
            tasks.submit("site", task, f"analysis-{n}", gates[n])
        with changed:  # every worker is now busy: nothing else can start
            if not changed.wait_for(lambda: len(started) == workers, timeout=10.0):
                raise TimeoutError(f"only {len(started)} of {workers} analyses started")
        for n in range(workers, workers + waiting):
            tasks.submit("site", task, f"analysis-{n}", gates[n])
        tasks.submit("general", task, "email", None)
        gates[0].set()  # one analysis finishes; exactly one worker comes free
        with changed:
            if not changed.wait_for(lambda: len(started) > workers, timeout=10.0):
                raise TimeoutError("no task started after a worker came free")
            return started[workers]
    finally:
        for gate in gates:
            gate.set()
        tasks.join(10.0)
        # --8<-- [end:first-start]
