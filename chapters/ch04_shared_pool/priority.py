"""A worker pool whose waiting tasks run lowest priority number first.

``PriorityPool`` changes only the order in which *waiting* tasks are taken:
lower numbers first, submission order among equals (like
``queue.PriorityQueue`` with a sequence number). It cannot do anything about a
task that is already running. When every worker is busy with a 30-second
analysis, an urgent email goes to the front of the line, and the line does not
move for up to 30 seconds. Priority is not isolation.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

from .pool import WorkerPool, _Item

__all__ = ["NORMAL", "PriorityPool"]

NORMAL = 10


class _Line:
    """The waiting line: a heap of (priority, sequence, task), used like the pool's
    deque.

    Guarded by the pool's mutex, like the deque it replaces.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, _Item]] = []
        self._sequence = (
            itertools.count()
        )  # breaks ties in submission order; tasks are never compared

    def push(self, priority: int, item: _Item) -> None:
        heapq.heappush(self._heap, (priority, next(self._sequence), item))

    def append(self, item: _Item) -> None:
        self.push(NORMAL, item)

    def popleft(self) -> _Item:
        return heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        return len(self._heap)


# --8<-- [start:priority-pool]
class PriorityPool(WorkerPool):
    """A ``WorkerPool`` whose queue is a priority line. ``submit`` uses priority
    ``NORMAL``."""

    def __init__(self, name: str, workers: int = 2) -> None:
        super().__init__(name, workers)
        self._queue = _Line()  # type: ignore[assignment]

    def submit_with_priority(
        self, priority: int, fn: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> None:
        """Queue ``fn(*args, **kwargs)`` ahead of every waiting task with a higher
        ``priority`` number."""
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise TypeError(
                f"{self.name!r} pool: a priority is an int, got "
                f"{type(priority).__name__}"
            )
        if not callable(fn):
            raise TypeError(
                f"{self.name!r} pool: a task must be callable, got {type(fn).__name__}"
            )
        with self._mutex:
            self._queue.push(priority, (fn, args, kwargs))  # type: ignore[attr-defined]
            if not self._threads:
                self._start_workers()
            self._not_empty.notify()
            # --8<-- [end:priority-pool]
