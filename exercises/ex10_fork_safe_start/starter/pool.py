"""A pool of worker threads that must work in every process, including the ones made by
``os.fork()``.

Exercise 10. This pool starts its threads as soon as it is made, and does
nothing about ``fork()``. Under ``gunicorn --preload`` the app (and this pool)
is made in the master process, which then forks the workers that serve
requests: threads do not survive a fork, so in every worker the pool holds a
list of threads that do not exist, and submitted tasks never run. Make the
pool start lazily and come back fresh in a forked child (see README.md).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("dualqueue")

_Item = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]


class WorkerPool:
    """``workers`` daemon threads taking tasks, first in first out, from one queue."""

    # --8<-- [start:init]
    def __init__(self, name: str, workers: int = 2) -> None:
        self.name = name
        self.workers = workers
        # The one mutex: it guards _queue, _running and _threads.
        self._mutex = threading.Lock()
        self._not_empty = threading.Condition(self._mutex)
        self._all_tasks_done = threading.Condition(self._mutex)
        self._queue: deque[_Item] = deque()
        self._running = 0
        self._threads: list[threading.Thread] = []
        # TODO: start no thread here: the first submit should (in the process that
        # submits).
        self._start_workers()
        # TODO: after os.fork(), the child must get this pool back fresh: a new mutex
        # and conditions (a lock held at fork time stays held forever in the child), an
        # empty queue (the parent's backlog is the parent's), and no threads until its
        # first submit.
    # --8<-- [end:init]

    # --8<-- [start:submit]
    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` to run on one of the workers. Returns at
        once."""
        with self._mutex:
            self._queue.append((fn, args, kwargs))
            self._not_empty.notify()
    # --8<-- [end:submit]

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

    @property
    def queued(self) -> int:
        with self._mutex:
            return len(self._queue)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or running; False if ``timeout`` passed
        first."""
        with self._all_tasks_done:
            return self._all_tasks_done.wait_for(
                lambda: not self._queue and not self._running, timeout
            )
