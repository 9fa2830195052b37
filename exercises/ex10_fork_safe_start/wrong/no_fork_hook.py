"""Wrong: lazy start, and nothing done in the child after a fork.

Lazy start alone is enough for a pool that was never used before the fork.
One that ran a task in the master (a warm-up, a test) reaches the child with
a list of threads that do not exist there, its backlog, and its locks.

Kind: logic
Caught by: test_a_child_forked_after_the_pool_ran_tasks_gets_a_working_pool
Caught by: test_the_parents_backlog_does_not_run_in_the_child
Message mentions: the child
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("dualqueue")

_Item = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]


class WorkerPool:
    """``workers`` daemon threads taking tasks, first in first out, from one queue."""

    def __init__(self, name: str, workers: int = 2) -> None:
        self.name = name
        self.workers = workers
        self._reset()
        _live_pools.add(self)

    def _reset(self) -> None:
        # The one mutex: it guards _queue, _running and _threads. Made here, not in
        # __init__, because a forked child needs new ones (see _reset_pools_in_child).
        self._mutex = threading.Lock()
        self._not_empty = threading.Condition(self._mutex)
        self._all_tasks_done = threading.Condition(self._mutex)
        self._queue: deque[_Item] = deque()
        self._running = 0
        self._threads: list[threading.Thread] = []

    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` to run on one of the workers. Returns at once."""
        with self._mutex:
            self._queue.append((fn, args, kwargs))
            if not self._threads:  # the first submit in this process starts the workers
                self._start_workers()
            self._not_empty.notify()

    def _start_workers(self) -> None:
        for slot in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"dualqueue-{self.name}-{slot}", daemon=True)
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
        """Wait until nothing is queued or running; False if ``timeout`` passed first."""
        with self._all_tasks_done:
            return self._all_tasks_done.wait_for(lambda: not self._queue and not self._running, timeout)


# Fork: threads do not survive fork(), a lock held at fork time stays held in the
# child, and a backlog copied into the child would run once per child. So the
# child rebuilds every pool from scratch, before it runs any code of its own.
_live_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


def _reset_pools_in_child() -> None:
    for pool in list(_live_pools):
        pool._reset()


# (no fork hook)
