"""A named pool of worker threads with one FIFO queue and its own counters.

``WorkerPool`` runs up to ``workers`` tasks at once, taken in submission order
from one queue. It guarantees:

* **Bad input fails at the caller.** ``WorkerPool`` raises ``ValueError`` for
  ``workers < 1`` or ``maxsize < 0``; ``submit`` raises ``TypeError`` for a
  non-callable and ``QueueFullError`` when a bounded queue is full. It never
  blocks, and nothing bad is discovered later inside a worker thread.
* **A worker never dies of a task.** Whatever a task raises, ``SystemExit`` and
  ``KeyboardInterrupt`` included, is caught, counted, logged and recorded as the
  pool's ``last_error``; the worker goes on to the next task. The same holds
  for the other user code a failure runs: the exception's ``__str__``, the
  task's names, a log handler. None of it runs under the mutex, and nothing
  it raises escapes the worker.
* **join() never waits for itself.** Called from one of the pool's own
  workers it raises ``RuntimeError`` at once; its timeout is None or a finite
  number of seconds, checked at the caller.
* **Lazy start.** Creating a pool starts no thread; the first submit starts
  all of its workers.
* **Time is injected.** Every time the pool records (when a task was queued,
  when it started) comes from its ``clock``, so a test can age a queue by
  hours without waiting.
* **One consistent picture.** Every counter change and every snapshot happens
  under the pool's one mutex (see ``stats.py`` for the invariant it keeps).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from .clock import Clock, SystemClock, bounded_wait, check_timeout
from .errors import QueueFullError
from .stats import ErrorRecord, PoolStats, describe

__all__ = ["WorkerPool", "default_clock", "task_name"]

logger = logging.getLogger("dualqueue")


class _Task(NamedTuple):
    """A queued task. A tuple: submit is on the request's path (see benchmarks)."""

    fn: Callable[..., object]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    enqueued_at: float


def _log(level: int, msg: str, *args: object, exc: BaseException | None = None) -> None:
    # A log handler or filter is user code: whatever it raises (or however it
    # fails to format a hostile exception) must not reach a worker.
    try:
        exc_info = None if exc is None else (type(exc), exc, exc.__traceback__)
        logger.log(level, msg, *args, exc_info=exc_info)
    except BaseException:
        pass


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


# Which pool the current thread works for: join() from a pool's own worker
# would wait for itself, so it raises instead.
_worker_of = threading.local()


class WorkerPool:
    """``workers`` threads taking tasks, first in first out, from one queue."""

    def __init__(
        self,
        name: str,
        workers: int = 2,
        maxsize: int = 0,
        *,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a pool needs a non-empty name, got {name!r}")
        self.name = name
        self.workers = _check_count("workers", workers, 1)
        self.maxsize = _check_count("maxsize", maxsize, 0)  # 0 means unbounded
        self.clock: Clock = clock if clock is not None else default_clock()
        self._now = self.clock.now
        # The one mutex. It guards everything below: the queue, the counters in
        # _stats, _current and _threads. No user code runs while it is held.
        # Invariant while it is not held:
        #   _stats.submitted == len(_queue) + _stats.running
        #                       + _stats.succeeded + _stats.failed + _stats.dropped
        self._mutex = threading.Lock()
        # Notified when a task is queued.
        self._not_empty = threading.Condition(self._mutex)
        # Notified when nothing is queued or running.
        self._all_tasks_done = threading.Condition(self._mutex)
        self._queue: deque[_Task] = deque()
        self._stats = PoolStats()
        # What each worker is running, and since when (None while idle).
        self._current: list[tuple[_Task, float] | None] = [None] * self.workers
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return (
            f"<WorkerPool {self.name!r} workers={self.workers} maxsize={self.maxsize}>"
        )

    # -- intake ------------------------------------------------------------

    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` to run on one of this pool's workers.

        Returns at once. Raises ``TypeError`` if ``fn`` is not callable,
        ``QueueFullError`` if the queue is bounded and full, ``RuntimeError``
        if no worker thread could be started; in those cases nothing was queued.
        """
        if not callable(fn):
            raise TypeError(
                f"{self.name!r} pool: a task must be callable, got {type(fn).__name__}"
            )
        now = self._now()
        with self._mutex:
            if self.maxsize and len(self._queue) >= self.maxsize:
                self._stats.rejected += 1
                refused: Exception | None = QueueFullError(
                    f"{self.name!r} pool queue is full ({self.maxsize} waiting)"
                )
            elif not self._threads and not self._start_workers():
                refused = RuntimeError(
                    f"{self.name!r} pool could not start a worker thread"
                )
            else:
                self._queue.append(_Task(fn, args, kwargs, now))
                self._stats.submitted += 1
                self._stats.last_submitted_at = now
                self._not_empty.notify()
                return
        # The task's name is user code: read outside the mutex.
        raise type(refused)(f"{refused}; {task_name(fn)} was not queued")

    def _start_workers(self) -> bool:
        # Called with the mutex held, once: the new threads block on the mutex
        # until submit releases it. True if at least one thread runs.
        for slot in range(self.workers):
            thread = threading.Thread(
                target=self._work,
                args=(slot,),
                name=f"dualqueue-{self.name}-{slot}",
                daemon=True,
            )
            try:
                thread.start()
            except RuntimeError:
                break
            self._threads.append(thread)
        return bool(self._threads)

    # -- the worker --------------------------------------------------------

    def _work(self, slot: int) -> None:
        _worker_of.pool = self
        while True:
            with self._not_empty:
                while not self._queue:
                    self._not_empty.wait()
                task = self._queue.popleft()
                self._stats.running += 1  # one step under the mutex: queued -> running
                self._current[slot] = (task, self._now())
            try:
                task.fn(*task.args, **task.kwargs)
            except BaseException as exc:  # a worker never dies of a task
                self._task_failed(slot, task, exc)
            else:
                self._task_succeeded(slot)
            # Drop the task (its arguments may be large) before waiting for the next.
            del task

    def _task_succeeded(self, slot: int) -> None:
        now = self._now()
        with self._mutex:
            self._current[slot] = None
            self._stats.running -= 1
            self._stats.succeeded += 1
            self._stats.last_finished_at = now
            self._notify_if_idle()

    def _task_failed(self, slot: int, task: _Task, exc: BaseException) -> None:
        # The exception's text and the task's name are user code: read them
        # outside the mutex, where whatever they raise is caught.
        error_type, message = describe(exc)
        name = task_name(task.fn)
        now = self._now()
        with self._mutex:
            self._current[slot] = None
            self._stats.running -= 1
            self._stats.failed += 1
            self._stats.last_finished_at = now
            self._stats.last_error = ErrorRecord(error_type, message, now)
            self._notify_if_idle()
        # Logged outside the mutex: a slow log handler must not stall the pool.
        _log(
            logging.ERROR,
            "dualqueue: task %s failed in pool %r",
            name,
            self.name,
            exc=exc,
        )

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
        raised (a failed task still counts as done). Raises ``RuntimeError``
        when called from one of this pool's own workers (it would wait for
        itself) and ``ValueError`` for a timeout that is not None or a finite
        number of seconds >= 0.
        """
        timeout = check_timeout("timeout", timeout)
        if getattr(_worker_of, "pool", None) is self:
            raise RuntimeError(
                f"join() called from a worker of the {self.name!r} pool would wait "
                f"for itself; call it from another thread"
            )
        with self._all_tasks_done:
            return self._all_tasks_done.wait_for(self._idle, bounded_wait(timeout))

    # -- the picture -------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Counters, levels, ages and the last error, read under the mutex at once.

        JSON-serializable, and
        ``submitted == queued + running + succeeded + failed + dropped``.
        """
        now, wall = self._now(), self.clock.wall()
        with self._mutex:
            stats = self._stats.copy()
            in_queue = len(self._queue)
            oldest_queued = self._queue[0].enqueued_at if self._queue else None
            running_since = [entry[1] for entry in self._current if entry is not None]
            alive = sum(thread.is_alive() for thread in self._threads)
            started = bool(self._threads)
        oldest_running = min(running_since) if running_since else None
        return {
            "name": self.name,
            "workers": self.workers,
            "alive_workers": alive,
            "started": started,
            "maxsize": self.maxsize,
            **stats.as_dict(in_queue=in_queue, now=now, wall=wall),
            "oldest_queued_seconds": _age(now, oldest_queued),
            "oldest_running_seconds": _age(now, oldest_running),
        }


def _age(now: float, since: float | None) -> float | None:
    # Clamped: the clock is read before the mutex, so a task queued in between
    # may look a few microseconds younger than zero.
    return None if since is None else round(max(0.0, now - since), 6)


NAME_LIMIT = 200  # characters of a task's name kept in reports and snapshots


def task_name(fn: object) -> str:
    """A stable, human name for a callable: ``module.qualname``; never its arguments.

    Reading names runs user code (``__getattr__``, properties): whatever it
    raises or returns, this returns a short ``str``, falling back to the
    callable's type and then to ``"<unnamed task>"``.
    """
    try:
        name = _name_of(fn)
    except BaseException:  # a hostile __getattr__ must not escape into a worker
        name = None
    if name is None:
        name = _type_name(fn)
    if len(name) > NAME_LIMIT:
        name = name[: NAME_LIMIT - 1] + "…"
    return name


def _text(value: object) -> str | None:
    # Only real strings count: a str subclass could override anything.
    return str.__str__(value) if isinstance(value, str) and value else None


def _name_of(fn: object) -> str | None:
    target = fn
    for _ in range(100):  # unwrap partial, never without end
        if issubclass(type(target), functools.partial):
            target = target.func  # type: ignore[attr-defined]
        else:
            break
    module = _text(getattr(target, "__module__", None))
    qualname = _text(getattr(target, "__qualname__", None))
    if qualname is None:  # an instance with __call__: name its class
        qualname = _text(type(target).__qualname__)
    if qualname is None:
        return None
    return f"{module}.{qualname}" if module else qualname


def _type_name(fn: object) -> str:
    try:
        kind = type(fn)
        module = _text(kind.__module__)
        qualname = _text(kind.__qualname__)
    except BaseException:  # a metaclass can make even these raise
        return "<unnamed task>"
    if qualname is None:
        return "<unnamed task>"
    return f"{module}.{qualname}" if module and module != "builtins" else qualname
