"""A pool's most recently finished tasks: a bounded ring for the status page.

``RecentTasks`` keeps the last ``limit`` finished tasks of one pool, each as a
``FinishedTask`` (name, how long it waited, how long it ran, how it ended), and
forgets the oldest first. It guarantees:

* **A fixed memory bound.** At most ``limit`` records, each a handful of
  numbers and two short strings; never a task's callable, arguments, return
  value or exception object (those could be any size, and would keep user
  objects alive).
* **User code never runs under its lock.** The task's name and the error's
  type name are read by ``record`` before it takes the lock; the lock guards
  one ``deque.append`` and one copy. Whatever the task's naming attributes
  raise is caught: a name that cannot be read is shown as ``"<unnamed task>"``.
* **It never raises.** ``record`` is called from a worker's loop, after the
  task has finished; nothing it does may kill the worker.

It has its own lock rather than the pool's mutex: the pool's counters must stay
one consistent picture under one lock, and this ring is not part of that
picture's invariant, so it should not lengthen the time the mutex is held.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, NamedTuple

from .retry import task_name
from .stats import MESSAGE_LIMIT, iso

__all__ = ["FinishedTask", "RecentTasks"]

UNNAMED = "<unnamed task>"
UNNAMED_ERROR = "<unnamed error>"


class FinishedTask(NamedTuple):
    """One finished task as the status page shows it."""

    name: str
    wait: float  # seconds from submit to the start of this attempt
    run: float  # seconds it ran
    # "succeeded", or "raised" (a retry policy may run it again: see the pool's
    # counters)
    outcome: str
    error_type: str | None  # the exception's class name when it raised, else None
    finished_at: float  # wall-clock seconds since the epoch

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "wait_seconds": round(self.wait, 6),
            "run_seconds": round(self.run, 6),
            "outcome": self.outcome,
            "error_type": self.error_type,
            "finished_at": iso(self.finished_at),
        }


class RecentTasks:
    """The last ``limit`` finished tasks of one pool, newest last; ``limit=0`` keeps
    none."""

    def __init__(self, limit: int = 20) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be an int >= 0, got {limit!r}")
        self.limit = limit
        # Guards _ring. Held for one append or one copy: never while user code runs.
        self._lock = threading.Lock()
        self._ring: deque[FinishedTask] = deque(maxlen=limit)

    def record(
        self,
        fn: object,
        enqueued_at: float,
        started: float,
        finished: float,
        finished_wall: float,
        error: BaseException | None = None,
    ) -> None:
        """Remember that ``fn`` finished (raised ``error``, if given); never raises.

        ``enqueued_at``, ``started`` and ``finished`` are readings of the pool's clock
        (``now()``), ``finished_wall`` of its wall clock. ``fn``'s name is read before
        the lock is taken.
        """
        if not self.limit:
            return
        # A hostile __getattr__ or __qualname__: the worker must go on.
        try:
            name = task_name(fn)[:MESSAGE_LIMIT]
        except BaseException:
            name = UNNAMED
        error_type = None
        if error is not None:
            try:
                error_type = str(type(error).__qualname__)[:MESSAGE_LIMIT]
            except BaseException:
                error_type = UNNAMED_ERROR
        entry = FinishedTask(
            name,
            max(0.0, started - enqueued_at),
            max(0.0, finished - started),
            "succeeded" if error is None else "raised",
            error_type,
            finished_wall,
        )
        with self._lock:
            self._ring.append(entry)

    def snapshot(self) -> list[dict[str, Any]]:
        """The kept tasks, oldest first, as JSON-serializable dicts."""
        with self._lock:
            kept = list(self._ring)
        return [entry.as_dict() for entry in kept]

    def __len__(self) -> int:
        with self._lock:
            return len(self._ring)
