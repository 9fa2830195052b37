"""A pool of worker threads that works in every process, including the ones made by
``os.fork()``.

Exercise 10, solved.

* **Lazy start.** Making a pool starts no thread; the first submit starts the
  workers, in the process that submits. Importing a module that makes a pool
  (a Django ``tasks.py``, say) is free, and safe before a fork.
* **Fork-safe.** Every live pool is remembered (weakly). In a child made by
  ``os.fork()``, a hook rebuilds each one from scratch before the child runs
  any code: a new mutex and new conditions (a lock held by some thread at the
  moment of the fork would stay held forever in the child, where that thread
  does not exist), an empty queue (the parent's backlog would otherwise run
  once in every child), and no threads until the child's own first submit.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
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
    # --8<-- [end:init]

    # --8<-- [start:submit]
    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` to run on one of the workers. Returns at
        once."""
        with self._mutex:
            self._queue.append((fn, args, kwargs))
            if not self._threads:  # the first submit in this process starts the workers
                self._start_workers()
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


# --8<-- [start:fork]
# Fork: threads do not survive fork(), a lock held at fork time stays held in the
# child, and a backlog copied into the child would run once per child. So the
# child rebuilds every pool from scratch, before it runs any code of its own.
_live_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


def _reset_pools_in_child() -> None:
    for pool in list(_live_pools):
        pool._reset()


os.register_at_fork(after_in_child=_reset_pools_in_child)
# --8<-- [end:fork]
