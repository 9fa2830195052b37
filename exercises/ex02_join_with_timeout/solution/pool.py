"""A pool of worker threads taking tasks from one queue.

Exercise 2, solved. The pool counts unfinished tasks under its mutex: a submit
adds one, a worker takes one away when the task is over (however it ended).
``join(timeout)`` waits on a condition that the workers notify when the count
reaches zero, so it wakes up the moment the work is done and can give up at
its deadline, which ``queue.Queue.join()`` cannot.
"""

from __future__ import annotations

import logging
import queue
import threading
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
        # Guards _threads and _unfinished.
        self._mutex = threading.Lock()
        # Notified when _unfinished drops to zero: nothing queued, nothing running.
        self._all_tasks_done = threading.Condition(self._mutex)
        self._unfinished = 0
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
            # Counted before it is queued: a join() can never see it neither counted nor
            # finished.
            self._unfinished += 1
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
                with self._mutex:
                    self._unfinished -= 1
                    if self._unfinished == 0:
                        self._all_tasks_done.notify_all()
    # --8<-- [end:work]

    # --8<-- [start:join]
    def join(self, timeout: float | None = None) -> bool:
        """Wait until every submitted task has finished: True if so, False if
        ``timeout`` seconds passed first."""
        with self._all_tasks_done:
            return self._all_tasks_done.wait_for(lambda: self._unfinished == 0, timeout)
    # --8<-- [end:join]
