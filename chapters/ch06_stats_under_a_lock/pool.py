"""A named pool of worker threads with one FIFO queue and its own counters.

``WorkerPool`` runs up to ``workers`` tasks at once, taken in submission order
from one queue. It guarantees:

* **Bad input fails at the caller.** ``WorkerPool`` raises ``ValueError`` for
  ``workers < 1`` or ``maxsize < 0``; ``submit`` raises ``TypeError`` for a
  non-callable and ``QueueFullError`` when a bounded queue is full. It never
  blocks, and nothing bad is discovered later inside a worker thread.
* **A worker never dies of a task.** Whatever a task raises, ``SystemExit`` and
  ``KeyboardInterrupt`` included, is caught, counted, logged and recorded as the
  pool's ``last_error``; the worker goes on to the next task.
* **Lazy start.** Creating a pool starts no thread; the first submit starts
  all of its workers.
* **One consistent picture.** Every counter change and every snapshot happens
  under the pool's one mutex (see ``stats.py`` for the invariant it keeps).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .errors import QueueFullError
from .stats import ErrorRecord, PoolStats

__all__ = ["WorkerPool", "task_name"]

logger = logging.getLogger("dualqueue")

# A queued task: (fn, args, kwargs, enqueued_at). A plain tuple: submit is on
# the web request's path, and a tuple is the cheapest record.
_Item = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any], float]


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class WorkerPool:
    """``workers`` threads taking tasks, first in first out, from one queue."""

    # --8<-- [start:init]
    def __init__(self, name: str, workers: int = 2, maxsize: int = 0) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a pool needs a non-empty name, got {name!r}")
        self.name = name
        self.workers = _check_count("workers", workers, 1)
        self.maxsize = _check_count("maxsize", maxsize, 0)  # 0 means unbounded
        # The one mutex. It guards everything below: the queue, the counters in
        # _stats, _current and _threads. Invariant while it is not held:
        #   _stats.submitted == len(_queue) + _stats.running
        #                       + _stats.succeeded + _stats.failed + _stats.dropped
        self._mutex = threading.Lock()
        # Notified when a task is queued.
        self._not_empty = threading.Condition(self._mutex)
        # Notified when nothing is queued or running.
        self._all_tasks_done = threading.Condition(self._mutex)
        self._queue: deque[_Item] = deque()
        self._stats = PoolStats()
        # What each worker is running, and since when (None while idle).
        self._current: list[tuple[_Item, float] | None] = [None] * self.workers
        self._threads: list[threading.Thread] = []
        # --8<-- [end:init]

    def __repr__(self) -> str:
        return (
            f"<WorkerPool {self.name!r} workers={self.workers} maxsize={self.maxsize}>"
        )

    # -- intake ------------------------------------------------------------

    # --8<-- [start:submit]
    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` to run on one of this pool's workers.

        Returns at once. Raises ``TypeError`` if ``fn`` is not callable,
        ``QueueFullError`` if the queue is bounded and full; in those cases
        nothing was queued.
        """
        if not callable(fn):
            raise TypeError(
                f"{self.name!r} pool: a task must be callable, got {type(fn).__name__}"
            )
        with self._mutex:
            if self.maxsize and len(self._queue) >= self.maxsize:
                self._stats.rejected += 1
                raise QueueFullError(
                    f"{self.name!r} pool queue is full ({self.maxsize} waiting); "
                    f"{task_name(fn)} was not queued"
                )
            now = time.monotonic()
            self._queue.append((fn, args, kwargs, now))
            self._stats.submitted += 1
            self._stats.last_submitted_at = now
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
                self._stats.running += 1  # one step under the mutex: queued -> running
                self._current[slot] = (item, time.monotonic())
            try:
                item[0](*item[1], **item[2])
            except BaseException as exc:  # a worker never dies of a task
                self._task_failed(slot, item, exc)
            else:
                self._task_succeeded(slot)
            del item
            # --8<-- [end:work]

    # --8<-- [start:count]
    def _task_succeeded(self, slot: int) -> None:
        with self._mutex:
            self._current[slot] = None
            self._stats.running -= 1
            self._stats.succeeded += 1
            self._stats.last_finished_at = time.monotonic()
            self._notify_if_idle()

    def _task_failed(self, slot: int, item: _Item, exc: BaseException) -> None:
        with self._mutex:
            now = time.monotonic()
            self._current[slot] = None
            self._stats.running -= 1
            self._stats.failed += 1
            self._stats.last_finished_at = now
            self._stats.last_error = ErrorRecord.of(exc, now)
            self._notify_if_idle()
        # Logged outside the mutex: a slow log handler must not stall the pool.
        logger.error(
            "dualqueue: task %s failed in pool %r",
            task_name(item[0]),
            self.name,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        # --8<-- [end:count]

    def _idle(self) -> bool:
        return not self._queue and not self._stats.running

    def _notify_if_idle(self) -> None:
        if self._idle():
            self._all_tasks_done.notify_all()

    # -- waiting -----------------------------------------------------------

    def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or running.

        Returns True if that happened, False if ``timeout`` seconds passed first.
        Unlike ``queue.Queue.join`` it can time out, and it works after a task
        raised (a failed task still counts as done).
        """
        with self._all_tasks_done:
            return self._all_tasks_done.wait_for(self._idle, timeout)

    # -- the picture -------------------------------------------------------

    # --8<-- [start:snapshot]
    def snapshot(self) -> dict[str, Any]:
        """Counters, levels, ages and the last error, all read under the mutex at once.

        JSON-serializable, and ``submitted == queued + running + succeeded + failed +
        dropped``.
        """
        with self._mutex:
            now, wall = time.monotonic(), time.time()
            stats = self._stats.copy()
            in_queue = len(self._queue)
            oldest_queued = self._queue[0][3] if self._queue else None
            running_since = [entry[1] for entry in self._current if entry is not None]
            alive = sum(thread.is_alive() for thread in self._threads)
            started = bool(self._threads)
        # Rendering (dates, rounding) happens outside the mutex, from the copy.
        return {
            "name": self.name,
            "workers": self.workers,
            "alive_workers": alive,
            "started": started,
            "maxsize": self.maxsize,
            **stats.as_dict(in_queue=in_queue, now=now, wall=wall),
            "oldest_queued_seconds": None
            if oldest_queued is None
            else round(now - oldest_queued, 6),
            "oldest_running_seconds": round(now - min(running_since), 6)
            if running_since
            else None,
        }
        # --8<-- [end:snapshot]


def task_name(fn: object) -> str:
    """A stable, human name for a callable: ``module.qualname``; never its arguments."""
    if isinstance(fn, functools.partial):
        return task_name(fn.func)
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{qualname}" if module else qualname
