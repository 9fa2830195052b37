"""A pool of worker threads taking tasks from one queue.

Exercise 2. ``join(timeout)`` must wait until every submitted task has finished
and say whether that happened before the timeout. ``queue.Queue.join()`` has no
timeout, so the starter polls ``empty()`` instead, and an empty queue does not
mean the work is done (see README.md).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("dualqueue")

# A queued task: (fn, args, kwargs).
_Item = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]


class WorkerPool:
    """``workers`` daemon threads taking tasks, first in first out, from one queue."""

    # --8<-- [start:init]
    def __init__(self, name: str, workers: int = 2) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers!r}")
        self.name = name
        self.workers = workers
        self._queue: queue.Queue[_Item] = queue.Queue()
        # Guards _threads (and whatever you add).
        self._mutex = threading.Lock()
        # TODO: a count of the tasks not finished yet, and a condition that join() can
        # wait on.
        self._threads: list[threading.Thread] = []
    # --8<-- [end:init]

    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)``. Returns at once; the first submit starts the
        workers."""
        if not callable(fn):
            raise TypeError(f"a task must be callable, got {type(fn).__name__}")
        with self._mutex:
            if not self._threads:
                for slot in range(self.workers):
                    thread = threading.Thread(
                        target=self._work,
                        name=f"dualqueue-{self.name}-{slot}",
                        daemon=True,
                    )
                    thread.start()
                    self._threads.append(thread)
        self._queue.put((fn, args, kwargs))

    # --8<-- [start:work]
    def _work(self) -> None:
        while True:
            fn, args, kwargs = self._queue.get()
            try:
                fn(*args, **kwargs)
            except BaseException:  # a worker never dies of a task
                logger.exception("dualqueue: a task failed in pool %r", self.name)
            finally:
                self._queue.task_done()
                del fn, args, kwargs
    # --8<-- [end:work]

    # --8<-- [start:join]
    def join(self, timeout: float | None = None) -> bool:
        """Wait until every submitted task has finished: True if so, False if
        ``timeout`` seconds passed first."""
        # TODO: the queue is empty as soon as the last task is *taken*, not when it is
        # *finished*; and this loop wakes up every 10 ms to look, instead of being told.
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._queue.empty():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True
    # --8<-- [end:join]
