"""The lost update, shown twice: once by hoping (a stress test), once by construction.

``two_workers_finish`` is the deterministic experiment. A pool has two tasks
running; worker 0 finishes its task and is preempted before each instruction of
its counting code in turn, and while it is stopped worker 1 finishes its own
task and a status request takes a snapshot. Every preemption is one scenario;
the verdict lists where a count was lost and where a snapshot was torn.

``hammer`` is the stress test everyone writes first: many threads, many tasks,
count what is missing. It is here to be shown finding nothing.

Works on this chapter's ``WorkerPool`` and ``NaiveStatsPool``, and on every
later chapter's pool (they count through the same ``_task_succeeded(slot)``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .interleave import preemptions

__all__ = ["Verdict", "consistent", "hammer", "two_workers_finish"]


def consistent(snapshot: dict[str, Any]) -> bool:
    """The invariant every snapshot must satisfy."""
    s = snapshot
    return (
        s["submitted"]
        == s["queued"] + s["running"] + s["succeeded"] + s["failed"] + s["dropped"]
    )


@dataclass
class Verdict:
    """What the exploration saw: how many preemptions, and where each kind of damage
    happened."""

    explored: int = 0
    # preemptions inside the mutex: worker 1 had to wait, so nothing could interleave
    waited: int = 0
    lost_updates: list[str] = field(
        default_factory=list
    )  # final counts wrong after this preemption
    torn_snapshots: list[str] = field(
        default_factory=list
    )  # a snapshot broke the invariant here


def held(lock: Any) -> bool:
    """Whether another thread holds ``lock``: a Lock, or an RLock (which has no
    ``locked()`` before Python 3.14)."""
    if not lock.acquire(blocking=False):
        return True
    lock.release()
    return False


# --8<-- [start:two-workers-finish]
def two_workers_finish(pool_class: Callable[..., Any]) -> Verdict:
    """Worker 0 is preempted before each instruction of its counting code; worker 1
    finishes meanwhile."""

    def two_running() -> Any:
        # A pool whose two workers are each running one task (no threads needed).
        pool = pool_class("stats", workers=2)
        with pool._mutex:
            pool._stats.submitted = 2
            pool._stats.running = 2
        pool.seen = []  # snapshots taken while worker 0 was stopped
        return pool

    def meanwhile(pool: Any) -> None:
        pool.seen.append(pool.snapshot())  # a status request arrives...
        pool._task_succeeded(1)  # ...and worker 1 finishes its task

    verdict = Verdict()
    for p in preemptions(
        setup=two_running,
        first=lambda pool: pool._task_succeeded(0),
        second=meanwhile,
        code=pool_class._task_succeeded.__code__,
        # Worker 0 holds the mutex: the others wait.
        blocked=lambda pool: held(pool._mutex),
    ):
        verdict.explored += 1
        verdict.waited += p.waited
        final = p.subject.snapshot()
        if (final["succeeded"], final["running"]) != (2, 0):
            verdict.lost_updates.append(p.where)
        if not all(consistent(s) for s in [*p.subject.seen, final]):
            verdict.torn_snapshots.append(p.where)
    return verdict
    # --8<-- [end:two-workers-finish]


# --8<-- [start:hammer]
def hammer(
    pool_class: Callable[..., Any], tasks: int = 20_000, workers: int = 4
) -> int:
    """The stress test: ``tasks`` empty tasks through ``workers`` threads; return how
    many were never counted."""
    pool = pool_class("hammer", workers=workers)
    parked = threading.Barrier(workers + 1, timeout=10.0)
    release = threading.Event()

    def park() -> None:
        parked.wait()
        release.wait(10.0)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    try:
        for _ in range(tasks):
            pool.submit(int)
        for _ in range(workers):
            pool.submit(park)
        # every worker has counted its last task and now holds a park task
        parked.wait()
        return tasks - pool.snapshot()["succeeded"]
    finally:
        sys.setswitchinterval(interval)
        release.set()
        # --8<-- [end:hammer]
