"""A named pool of worker threads with its own FIFO queue and its own counters.

``WorkerPool`` is the unit of isolation: a task submitted to one pool is only
ever run by that pool's workers, so however busy one pool is, it cannot delay
another. It guarantees:

* **Bad input fails at the caller.** ``submit`` raises ``TypeError`` for a
  non-callable and ``QueueFullError`` when a bounded queue is full; it never
  blocks.
* **A worker never dies of a task.** Whatever a task raises, ``SystemExit`` and
  ``KeyboardInterrupt`` included, is caught, counted, logged and recorded as the
  pool's ``last_error``; the worker goes on to the next task.
* **Retries do not hold a worker.** A task wrapped in a ``Retry`` policy that
  fails is put back on the clock for its backoff delay, and a worker takes it
  again only when the delay is over. A task that fails for the last time is
  kept as a ``DeadLetter`` in a bounded ring.
* **Lazy start.** Creating a pool starts no thread; the first submit does.
* **One consistent picture.** Every counter change and every snapshot happens
  under the pool's one mutex (see ``stats.py`` for the invariant it keeps).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from .clock import Clock, SystemClock
from .errors import QueueFullError
from .retry import DeadLetter, Retrying, task_name
from .stats import ErrorRecord, PoolStats

__all__ = ["WorkerPool", "default_clock"]

logger = logging.getLogger("dualqueue")

# A queued task: (fn, args, kwargs, enqueued_at, failures so far). A plain
# tuple: submit is on the web request's path, and a tuple is the cheapest record.
_Item = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any], float, int]

_default_clock: SystemClock | None = None
_default_clock_lock = threading.Lock()


def default_clock() -> SystemClock:
    """The process-wide ``SystemClock`` used when no clock is given."""
    global _default_clock
    with _default_clock_lock:
        if _default_clock is None:
            _default_clock = SystemClock()
        return _default_clock


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class WorkerPool:
    """``workers`` threads taking tasks, first in first out, from one queue."""

    def __init__(
        self,
        name: str,
        workers: int = 2,
        maxsize: int = 0,
        *,
        clock: Clock | None = None,
        dead_letters: int = 100,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a pool needs a non-empty name, got {name!r}")
        self.name = name
        self.workers = _check_count("workers", workers, 1)
        self.maxsize = _check_count("maxsize", maxsize, 0)  # 0 means unbounded
        self._dead_letter_limit = _check_count("dead_letters", dead_letters, 0)
        self.clock: Clock = clock if clock is not None else default_clock()
        self._now = self.clock.now
        # The one mutex. It guards everything below: the queue, the counters in
        # _stats, _current and _threads. Invariant while it is not held:
        #   _stats.submitted == len(_queue) + _stats.retrying + _stats.running
        #                       + _stats.succeeded + _stats.failed + _stats.dropped
        self._mutex = threading.Lock()
        # Notified when a task is queued.
        self._not_empty = threading.Condition(self._mutex)
        # Notified when nothing is queued, waiting for a retry, or running.
        self._all_tasks_done = threading.Condition(self._mutex)
        self._queue: deque[_Item] = deque()
        self._stats = PoolStats(self._dead_letter_limit)
        # What each worker is running, and since when (None while idle).
        self._current: list[tuple[_Item, float] | None] = [None] * self.workers
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"<WorkerPool {self.name!r} workers={self.workers} maxsize={self.maxsize}>"

    # -- intake ------------------------------------------------------------

    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` to run on one of this pool's workers.

        Returns at once. Raises ``TypeError`` if ``fn`` is not callable,
        ``QueueFullError`` if the queue is bounded and full; in those cases
        nothing was queued.
        """
        if not callable(fn):
            raise TypeError(f"{self.name!r} pool: a task must be callable, got {type(fn).__name__}")
        with self._mutex:
            if self.maxsize and len(self._queue) >= self.maxsize:
                self._stats.rejected += 1
                raise QueueFullError(
                    f"{self.name!r} pool queue is full ({self.maxsize} waiting); {task_name(fn)} was not queued"
                )
            now = self._now()
            self._queue.append((fn, args, kwargs, now, 0))
            self._stats.submitted += 1
            self._stats.last_submitted_at = now
            if not self._threads:
                self._start_workers()
            self._not_empty.notify()

    def _start_workers(self) -> None:
        # Called with the mutex held, once: the new threads block on the mutex
        # until submit releases it.
        for slot in range(self.workers):
            thread = threading.Thread(
                target=self._work, args=(slot,), name=f"dualqueue-{self.name}-{slot}", daemon=True
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
                self._stats.running += 1
                self._current[slot] = (item, self._now())
            try:
                item[0](*item[1], **item[2])
            except BaseException as exc:  # a worker never dies of a task
                self._task_failed(slot, item, exc)
                del exc  # break the traceback's reference cycle with this frame
            else:
                self._task_succeeded(slot)
            del item
    # --8<-- [end:work]

    def _task_succeeded(self, slot: int) -> None:
        with self._mutex:
            self._current[slot] = None
            self._stats.running -= 1
            self._stats.succeeded += 1
            self._stats.last_finished_at = self._now()
            self._notify_if_idle()

    # --8<-- [start:task-failed]
    def _task_failed(self, slot: int, item: _Item, exc: BaseException) -> None:
        fn, args, kwargs, enqueued_at, failures = item
        failures += 1
        policy = fn.policy if isinstance(fn, Retrying) else None
        delay = policy.delay(failures) if policy is not None and policy.should_retry(exc, failures) else None
        with self._mutex:
            now = self._now()
            self._current[slot] = None
            self._stats.running -= 1
            self._stats.last_finished_at = now
            self._stats.last_error = error = ErrorRecord.of(exc, now)
            retrying = delay is not None
            if retrying:
                assert delay is not None
                self._schedule_retry((fn, args, kwargs, enqueued_at, failures), delay)
            else:
                self._stats.failed += 1
                self._stats.dead_letters.append(
                    DeadLetter(task_name(fn), failures, error.error_type, error.message, self.clock.wall())
                )
            self._notify_if_idle()
        # Logged outside the mutex: a slow log handler must not stall the pool.
        if retrying:
            logger.warning(
                "dualqueue: task %s failed in pool %r (attempt %d, %s: %s); retrying in %.2fs",
                task_name(fn), self.name, failures, error.error_type, error.message, delay,
            )
        else:
            logger.error(
                "dualqueue: task %s failed in pool %r (attempt %d)", task_name(fn), self.name, failures,
                exc_info=(type(exc), exc, exc.__traceback__),
            )

    def _schedule_retry(self, item: _Item, delay: float) -> None:
        # Mutex held. The task stays counted (as "retrying", part of "queued")
        # while no worker holds it; the clock puts it back in the queue.
        self._stats.retrying += 1
        self._stats.retried += 1
        self.clock.call_later(delay, lambda: self._requeue(item))

    def _requeue(self, item: _Item) -> None:
        with self._mutex:
            self._stats.retrying -= 1
            self._queue.append(item)
            self._not_empty.notify()
    # --8<-- [end:task-failed]

    def _idle(self) -> bool:
        return not self._queue and not self._stats.running and not self._stats.retrying

    def _notify_if_idle(self) -> None:
        if self._idle():
            self._all_tasks_done.notify_all()

    # -- waiting -----------------------------------------------------------

    def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued, waiting for a retry, or running.

        Returns True if that happened, False if ``timeout`` seconds passed first.
        Unlike ``queue.Queue.join`` it can time out, and it works after a task
        raised (a failed task still counts as done).
        """
        with self._all_tasks_done:
            return self._all_tasks_done.wait_for(self._idle, timeout)

    # -- the picture -------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Counters, levels, ages and the last error, all read under the mutex at once.

        JSON-serializable. ``queued`` includes tasks waiting for a retry, so
        ``submitted == queued + running + succeeded + failed + dropped``.
        """
        with self._mutex:
            now, wall = self._now(), self.clock.wall()
            stats = self._stats.copy()
            in_queue = len(self._queue)
            oldest_queued = self._queue[0][3] if self._queue else None
            running_since = [entry[1] for entry in self._current if entry is not None]
            alive = sum(thread.is_alive() for thread in self._threads)
            started = bool(self._threads)
        return {
            "name": self.name,
            "workers": self.workers,
            "alive_workers": alive,
            "started": started,
            "maxsize": self.maxsize,
            **stats.as_dict(in_queue=in_queue, now=now, wall=wall),
            "oldest_queued_seconds": None if oldest_queued is None else round(now - oldest_queued, 6),
            "oldest_running_seconds": round(now - min(running_since), 6) if running_since else None,
        }

