"""A pool of worker threads with one FIFO queue, which may be bounded.

Exercise 4, solved. With ``maxsize > 0``, a submit that finds ``maxsize`` tasks
waiting raises ``QueueFullError`` in the caller's thread, at once, and counts the
refusal in ``rejected``. Running tasks do not count: they have left the queue.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from dualqueue import QueueFullError

logger = logging.getLogger("dualqueue")

_Item = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]


class WorkerPool:
    """``workers`` daemon threads taking tasks, first in first out, from one queue of at
    most ``maxsize``."""

    # --8<-- [start:init]
    def __init__(self, name: str, workers: int = 2, maxsize: int = 0) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers!r}")
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 0:
            raise ValueError(
                f"maxsize must be an int >= 0 (0 means unbounded), got {maxsize!r}"
            )
        self.name = name
        self.workers = workers
        self.maxsize = maxsize
        # The one mutex: it guards _queue, _running, rejected and _threads.
        self._mutex = threading.Lock()
        self._not_empty = threading.Condition(self._mutex)  # a task was queued
        # nothing queued or running
        self._all_tasks_done = threading.Condition(self._mutex)
        self._queue: deque[_Item] = deque()
        self._running = 0
        self.rejected = 0  # submits refused because the queue was full
        self._threads: list[threading.Thread] = []
    # --8<-- [end:init]

    # --8<-- [start:submit]
    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)``; never blocks. Raises QueueFullError if the
        queue is full."""
        if not callable(fn):
            raise TypeError(f"a task must be callable, got {type(fn).__name__}")
        with self._mutex:
            if self.maxsize and len(self._queue) >= self.maxsize:
                # refused, not lost: the caller gets the exception and decides
                self.rejected += 1
                name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
                raise QueueFullError(
                    f"{self.name!r} pool queue is full ({self.maxsize} waiting); "
                    f"{name} was not queued"
                )
            self._queue.append((fn, args, kwargs))
            if not self._threads:
                self._start_workers()
            self._not_empty.notify()
    # --8<-- [end:submit]

    @property
    def queued(self) -> int:
        with self._mutex:
            return len(self._queue)

    def _start_workers(self) -> None:
        for slot in range(self.workers):
            thread = threading.Thread(
                target=self._work, name=f"dualqueue-{self.name}-{slot}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        while True:
            with self._not_empty:
                while not self._queue:
                    self._not_empty.wait()
                fn, args, kwargs = self._queue.popleft()
                self._running += 1
            try:
                fn(*args, **kwargs)
            except BaseException:  # a worker never dies of a task
                logger.exception("dualqueue: a task failed in pool %r", self.name)
            finally:
                del fn, args, kwargs
                with self._mutex:
                    self._running -= 1
                    if not self._queue and not self._running:
                        self._all_tasks_done.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or running; False if ``timeout`` passed
        first."""
        with self._all_tasks_done:
            return self._all_tasks_done.wait_for(
                lambda: not self._queue and not self._running, timeout
            )
