"""A named pool of worker threads with one FIFO queue.

``WorkerPool`` runs up to ``workers`` tasks at once, taken in submission order
from one queue. It guarantees:

* **Bad input fails at the caller.** ``WorkerPool`` raises ``ValueError`` for
  ``workers < 1``; ``submit`` raises ``TypeError`` for a non-callable. Nothing
  bad is discovered later inside a worker thread.
* **A worker never dies of a task.** Whatever a task raises, ``SystemExit`` and
  ``KeyboardInterrupt`` included, is caught and logged with its traceback; the
  worker goes on to the next task.
* **Lazy start.** Creating a pool starts no thread; the first submit starts
  all of its workers.
* **A join that can time out.** ``join(timeout)`` waits until nothing is
  queued or running and says whether that happened, which
  ``queue.Queue.join`` cannot do.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["WorkerPool", "task_name"]

logger = logging.getLogger("dualqueue")

# A queued task: (fn, args, kwargs). A plain tuple: submit is on the web
# request's path, and a tuple is the cheapest record.
_Item = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class WorkerPool:
    """``workers`` threads taking tasks, first in first out, from one queue."""

    # --8<-- [start:init]
    def __init__(self, name: str, workers: int = 2) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a pool needs a non-empty name, got {name!r}")
        self.name = name
        self.workers = _check_count("workers", workers, 1)
        # The one mutex. It guards everything below: the queue, _running and _threads.
        self._mutex = threading.Lock()
        # Notified when a task is queued.
        self._not_empty = threading.Condition(self._mutex)
        # Notified when nothing is queued or running.
        self._all_tasks_done = threading.Condition(self._mutex)
        self._queue: deque[_Item] = deque()
        self._running = 0
        self._threads: list[threading.Thread] = []
        # --8<-- [end:init]

    def __repr__(self) -> str:
        return f"<WorkerPool {self.name!r} workers={self.workers}>"

    # -- intake ------------------------------------------------------------

    # --8<-- [start:submit]
    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` to run on one of this pool's workers.

        Returns at once. Raises ``TypeError`` if ``fn`` is not callable; then
        nothing was queued.
        """
        if not callable(fn):
            raise TypeError(
                f"{self.name!r} pool: a task must be callable, got {type(fn).__name__}"
            )
        with self._mutex:
            self._queue.append((fn, args, kwargs))
            if not self._threads:
                self._start_workers()
            self._not_empty.notify()
            # --8<-- [end:submit]

    def _start_workers(self) -> None:
        # Called with the mutex held, once: the new threads block on the mutex
        # until submit releases it.
        for slot in range(self.workers):
            thread = threading.Thread(
                target=self._work,
                args=(slot,),
                name=f"dualqueue-{self.name}-{slot}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    # -- the worker --------------------------------------------------------

    # --8<-- [start:work]
    def _work(self, slot: int) -> None:
        while True:
            with self._not_empty:
                while not self._queue:
                    self._not_empty.wait()
                item = self._queue.popleft()
                self._running += 1
            try:
                item[0](*item[1], **item[2])
            except BaseException as exc:  # a worker never dies of a task
                self._task_failed(item, exc)
            else:
                self._task_succeeded()
            del item

    def _task_succeeded(self) -> None:
        with self._mutex:
            self._running -= 1
            self._notify_if_idle()

    def _task_failed(self, item: _Item, exc: BaseException) -> None:
        with self._mutex:
            self._running -= 1
            self._notify_if_idle()
        # Logged outside the mutex: a slow log handler must not stall the pool.
        logger.error(
            "dualqueue: task %s failed in pool %r",
            task_name(item[0]),
            self.name,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        # --8<-- [end:work]

    def _idle(self) -> bool:
        return not self._queue and not self._running

    def _notify_if_idle(self) -> None:
        if self._idle():
            self._all_tasks_done.notify_all()

    # -- waiting -----------------------------------------------------------

    # --8<-- [start:join]
    def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or running.

        Returns True if that happened, False if ``timeout`` seconds passed first.
        Unlike ``queue.Queue.join`` it can time out, and it works after a task
        raised (a failed task still counts as done).
        """
        with self._all_tasks_done:
            return self._all_tasks_done.wait_for(self._idle, timeout)
            # --8<-- [end:join]


def task_name(fn: object) -> str:
    """A stable, human name for a callable: ``module.qualname``; never its arguments."""
    if isinstance(fn, functools.partial):
        return task_name(fn.func)
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{qualname}" if module else qualname
