"""The seed's first design: every task, light or heavy, submitted to one shared pool.

Both classes here have the call shape the fix will keep,
``tasks.submit("general" | "site", fn, *args)``, because the call sites
already know what kind of work they submit. What differs is what the name
buys:

* ``SharedTasks`` ignores it: twelve workers, one first-in-first-out queue.
  Twelve 30-second analyses occupy every worker, and a password-reset email
  submitted behind them waits until one of them finishes: head-of-line
  blocking.
* ``PrioritizedTasks`` turns it into a priority: general tasks jump ahead of
  every waiting site task. The email now waits for the *first* worker to come
  free instead of for the whole backlog, but it still waits for a worker that
  an analysis holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .pool import WorkerPool
from .priority import PriorityPool

__all__ = ["SEED_WORKERS", "PrioritizedTasks", "SharedTasks"]

SEED_WORKERS = 12


# --8<-- [start:shared]
class SharedTasks:
    """One pool of ``workers`` threads for every kind of task. ``queue`` is a label,
    nothing more."""

    def __init__(
        self, workers: int = SEED_WORKERS, queues: tuple[str, ...] = ("general", "site")
    ) -> None:
        self.pool = WorkerPool("shared", workers)
        self.queues = queues

    def submit(
        self, queue: str, fn: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> None:
        if queue not in self.queues:
            raise KeyError(
                f"no queue named {queue!r}; the queues are {sorted(self.queues)}"
            )
        self.pool.submit(fn, *args, **kwargs)

    def join(self, timeout: float | None = None) -> bool:
        return self.pool.join(timeout)
        # --8<-- [end:shared]


# --8<-- [start:prioritized]
class PrioritizedTasks(SharedTasks):
    """One shared pool whose waiting line is ordered by the queue name's priority (lower
    first)."""

    def __init__(
        self, workers: int = SEED_WORKERS, priorities: Mapping[str, int] | None = None
    ) -> None:
        self.pool = PriorityPool("shared", workers)
        self.priorities = dict(
            priorities if priorities is not None else {"general": 0, "site": 1}
        )
        self.queues = tuple(self.priorities)

    def submit(
        self, queue: str, fn: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> None:
        try:
            priority = self.priorities[queue]
        except KeyError:
            raise KeyError(
                f"no queue named {queue!r}; the queues are {sorted(self.priorities)}"
            ) from None
        self.pool.submit_with_priority(priority, fn, *args, **kwargs)
        # --8<-- [end:prioritized]
