"""A named pool of worker threads with its own FIFO queue and its own counters.

``WorkerPool`` is the unit of isolation: a task submitted to one pool is only
ever run by that pool's workers, so however busy one pool is, it cannot delay
another. It guarantees:

* **Bad input fails at the caller.** ``submit`` raises ``TypeError`` for a
  non-callable, ``PoolClosedError`` after shutdown and ``QueueFullError`` when
  a bounded queue is full; it never blocks.
* **A worker never dies of a task.** Whatever a task raises, ``SystemExit`` and
  ``KeyboardInterrupt`` included, is caught, counted, logged and recorded as the
  pool's ``last_error``; the worker goes on to the next task.
* **Lazy and fork-safe.** Creating a pool starts no thread; the first submit
  does. A child process created by ``os.fork()`` gets the pool back fresh:
  empty, with zeroed counters and no threads until its own first submit.
* **One consistent picture.** Every counter change and every snapshot happens
  under the pool's one mutex (see ``stats.py`` for the invariant it keeps).
* **Bounded, honest shutdown.** ``shutdown(timeout)`` stops intake, lets the
  workers drain the queue until the deadline, then drops what is left and
  reports it by name. Workers are daemon threads, so a task that never returns
  cannot hold the process open; an exit hook drains every live pool for a
  bounded time before the interpreter stops them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock, Handle, SystemClock
from .errors import PoolClosedError, QueueFullError
from .recent import RecentTasks
from .retry import DeadLetter, Retrying, task_name
from .stats import ErrorRecord, PoolStats

__all__ = ["ShutdownReport", "WorkerPool", "default_clock", "drain", "drain_all"]

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


@dataclass(frozen=True)
class ShutdownReport:
    """What a shutdown did with the work it found.

    Every task outstanding when intake stopped (``queued + running``) ends up
    in exactly one of three places, so always
    ``finished + len(dropped) + len(still_running) == queued + running``.
    """

    queued: int  # waiting (in the queue or for a retry) when intake stopped
    running: int  # running when intake stopped
    finished: int  # of those, finished (succeeded or failed) during the drain
    dropped: tuple[str, ...]  # names of tasks removed unrun at the deadline
    still_running: tuple[str, ...]  # names of tasks still running at the deadline, abandoned
    elapsed: float  # seconds the drain took
    pools: Mapping[str, ShutdownReport] = field(default_factory=dict)  # per pool, for a TaskSystem

    @property
    def complete(self) -> bool:
        """True if nothing was dropped or abandoned."""
        return not self.dropped and not self.still_running

    @classmethod
    def combine(cls, reports: Mapping[str, ShutdownReport], elapsed: float) -> ShutdownReport:
        """One report for several pools, keeping each pool's own under ``pools``."""
        parts = reports.values()
        return cls(
            queued=sum(r.queued for r in parts),
            running=sum(r.running for r in parts),
            finished=sum(r.finished for r in parts),
            dropped=tuple(name for r in parts for name in r.dropped),
            still_running=tuple(name for r in parts for name in r.still_running),
            elapsed=elapsed,
            pools=dict(reports),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-serializable, for logs and status pages."""
        return {
            "queued": self.queued,
            "running": self.running,
            "finished": self.finished,
            "dropped": list(self.dropped),
            "still_running": list(self.still_running),
            "elapsed": round(self.elapsed, 3),
            "pools": {name: r.as_dict() for name, r in self.pools.items()},
        }


@dataclass(frozen=True)
class _Ticket:
    """What was outstanding when intake stopped: the start of a drain."""

    queued: int
    running: int
    done_before: int
    started: float


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class WorkerPool:
    """``workers`` threads taking tasks, first in first out, from one queue.

    ``maxsize`` bounds the queue (0, the default, means unbounded): a submit to a
    full queue raises ``QueueFullError`` at the caller. ``dead_letters`` is the
    size of the ring of finally-failed tasks shown in the snapshot (0 keeps none).
    ``exit_timeout`` is how long the interpreter-exit drain may wait for this
    pool. ``clock`` times ages and schedules retries (a shared ``SystemClock``
    by default). No thread starts until the first submit.
    """

    def __init__(
        self,
        name: str,
        workers: int = 2,
        maxsize: int = 0,
        *,
        clock: Clock | None = None,
        dead_letters: int = 100,
        exit_timeout: float = 30.0,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a pool needs a non-empty name, got {name!r}")
        self.name = name
        self.workers = _check_count("workers", workers, 1)
        self.maxsize = _check_count("maxsize", maxsize, 0)  # 0 means unbounded
        self._dead_letter_limit = _check_count("dead_letters", dead_letters, 0)
        if not exit_timeout >= 0:
            raise ValueError(f"exit_timeout must be a number >= 0, got {exit_timeout!r}")
        self.exit_timeout = exit_timeout
        self.clock: Clock = clock if clock is not None else default_clock()
        self._now = self.clock.now
        self._reset()
        _live_pools.add(self)

    def _reset(self) -> None:
        # The one mutex. It guards everything below: the queue, the counters in
        # _stats, _current, _retries, _threads and the _closed/_stopping flags.
        # Invariant while it is not held:
        #   _stats.submitted == len(_queue) + _stats.retrying + _stats.running
        #                       + _stats.succeeded + _stats.failed + _stats.dropped
        self._mutex = threading.Lock()
        # Notified when a task is queued or when idle workers must exit.
        self._not_empty = threading.Condition(self._mutex)
        # Notified when nothing is queued, waiting for a retry, or running.
        self._all_tasks_done = threading.Condition(self._mutex)
        self._queue: deque[_Item] = deque()
        self._stats = PoolStats(self._dead_letter_limit)
        self._recent = RecentTasks()  # the last finished tasks, for the status page; has its own lock
        self._current: list[tuple[_Item, float] | None] = [None] * self.workers
        self._retries: dict[int, tuple[_Item, Handle]] = {}
        self._retry_keys = 0
        self._threads: list[threading.Thread] = []
        self._closed = False  # no more submits
        self._stopping = False  # idle workers exit

    def __repr__(self) -> str:
        return f"<WorkerPool {self.name!r} workers={self.workers} maxsize={self.maxsize}>"

    # -- intake ------------------------------------------------------------

    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` to run on one of this pool's workers.

        Returns at once. Raises ``TypeError`` if ``fn`` is not callable,
        ``PoolClosedError`` after shutdown, ``QueueFullError`` if the queue is
        bounded and full; in those cases nothing was queued.
        """
        self._put(fn, args, kwargs)

    def _put(self, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        # The intake behind submit. TaskSystem.submit calls it directly, so a
        # task's arguments are packed once on the request's path, not twice
        # (measured: about a quarter of TaskSystem.submit's cost). A subclass
        # that changes intake overrides this, not submit.
        if not callable(fn):
            raise TypeError(f"{self.name!r} pool: a task must be callable, got {type(fn).__name__}")
        with self._mutex:
            if self._closed:
                raise PoolClosedError(f"{self.name!r} pool is shut down; {task_name(fn)} was not queued")
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
        # Called with the mutex held, once per process: the new threads block
        # on the mutex until submit releases it.
        for slot in range(self.workers):
            thread = threading.Thread(
                target=self._work, args=(slot,), name=f"dualqueue-{self.name}-{slot}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    # -- the worker --------------------------------------------------------

    def _work(self, slot: int) -> None:
        while True:
            with self._not_empty:
                while not self._queue:
                    if self._stopping:
                        return
                    self._not_empty.wait()
                item = self._queue.popleft()
                self._stats.running += 1
                self._current[slot] = (item, started := self._now())
            try:
                item[0](*item[1], **item[2])
            except BaseException as exc:  # a worker never dies of a task
                # Recorded before the counters, so that a join() that returns has seen it; never raises.
                self._recent.record(item[0], item[3], started, self._now(), self.clock.wall(), exc)
                self._task_failed(slot, item, exc)
                del exc  # break the traceback's reference cycle with this frame
            else:
                self._recent.record(item[0], item[3], started, self._now(), self.clock.wall())
                self._task_succeeded(slot)
            del item

    def _task_succeeded(self, slot: int) -> None:
        with self._mutex:
            self._current[slot] = None
            self._stats.running -= 1
            self._stats.succeeded += 1
            self._stats.last_finished_at = self._now()
            self._notify_if_idle()

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
            retrying = delay is not None and not self._stopping
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
        key = self._retry_keys = self._retry_keys + 1
        self._stats.retrying += 1
        self._stats.retried += 1
        handle = self.clock.call_later(delay, lambda: self._requeue(key))
        self._retries[key] = (item, handle)

    def _requeue(self, key: int) -> None:
        with self._mutex:
            entry = self._retries.pop(key, None)
            if entry is None:  # dropped by a shutdown meanwhile
                return
            self._stats.retrying -= 1
            self._queue.append(entry[0])
            self._not_empty.notify()

    def _idle(self) -> bool:
        return not self._queue and not self._stats.running and not self._stats.retrying

    def _notify_if_idle(self) -> None:
        if self._idle():
            self._all_tasks_done.notify_all()

    # -- waiting and stopping ---------------------------------------------

    def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued, waiting for a retry, or running.

        Returns True if that happened, False if ``timeout`` seconds passed first.
        Unlike ``queue.Queue.join`` it can time out, and it works after a task
        raised (a failed task still counts as done). A failure is logged outside
        the lock, after it is counted: its log line may follow ``join``'s return.
        """
        with self._all_tasks_done:
            return self._all_tasks_done.wait_for(self._idle, timeout)

    def shutdown(self, timeout: float | None = 30.0) -> ShutdownReport:
        """Stop intake, drain for up to ``timeout`` seconds, and report.

        After the deadline, tasks still queued (or waiting for a retry) are
        dropped and named in the report; tasks still running are named as
        ``still_running`` and left to their daemon threads. ``timeout=None``
        waits as long as it takes; ``timeout=0`` drops everything queued at
        once. Calling it again is harmless: it drains whatever is left.
        """
        return drain([self], timeout).pools[self.name]

    def _close(self) -> _Ticket:
        with self._mutex:
            self._closed = True
            return _Ticket(
                queued=len(self._queue) + self._stats.retrying,
                running=self._stats.running,
                done_before=self._stats.succeeded + self._stats.failed,
                started=time.monotonic(),
            )

    # --8<-- [start:drain-one]
    def _drain(self, ticket: _Ticket, deadline: float | None) -> ShutdownReport:
        with self._all_tasks_done:
            while not self._idle():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._all_tasks_done.wait(remaining)
            dropped = self._drop_queued()
            still_running = tuple(task_name(entry[0][0]) for entry in self._current if entry is not None)
            finished = self._stats.succeeded + self._stats.failed - ticket.done_before
            self._stopping = True
            self._not_empty.notify_all()
            threads = list(self._threads)
        if not still_running:  # every worker is idle and about to exit
            for thread in threads:
                thread.join(timeout=1.0)
        report = ShutdownReport(
            queued=ticket.queued,
            running=ticket.running,
            finished=finished,
            dropped=dropped,
            still_running=still_running,
            elapsed=time.monotonic() - ticket.started,
        )
        if not report.complete:
            logger.warning(
                "dualqueue: pool %r shut down with %d task(s) dropped %s and %d still running %s",
                self.name, len(dropped), list(dropped), len(still_running), list(still_running),
            )
        return report

    def _drop_queued(self) -> tuple[str, ...]:
        # Mutex held. The only place a task is lost, and it is counted here.
        names = [task_name(item[0]) for item in self._queue]
        self._queue.clear()
        for item, handle in self._retries.values():
            handle.cancel()
            names.append(task_name(item[0]))
        self._retries.clear()
        self._stats.retrying = 0
        self._stats.dropped += len(names)
        return tuple(names)
    # --8<-- [end:drain-one]

    def _drained(self) -> bool:
        with self._mutex:
            return self._stopping

    @property
    def closed(self) -> bool:
        """True once shutdown has begun: submit raises ``PoolClosedError``."""
        with self._mutex:
            return self._closed

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
            closed, started = self._closed, bool(self._threads)
        return {
            "name": self.name,
            "workers": self.workers,
            "alive_workers": alive,
            "started": started,
            "closed": closed,
            "maxsize": self.maxsize,
            **stats.as_dict(in_queue=in_queue, now=now, wall=wall),
            "oldest_queued_seconds": None if oldest_queued is None else round(now - oldest_queued, 6),
            "oldest_running_seconds": round(now - min(running_since), 6) if running_since else None,
            "recent": self._recent.snapshot(),
        }


# Exit and fork, handled once for every pool in the process.
#
# Exit: workers are daemon threads, so the interpreter would stop them abruptly
# with tasks still queued. drain_all() is what the exit hook (registered in
# system.py, which flushes debouncers first) runs while they are still alive.
#
# Fork: threads do not survive fork(), a mutex held by one of them at fork time
# would stay held forever in the child, and a backlog copied into the child
# would run once in every child. So the child rebuilds each pool from scratch.
_live_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


def drain_all(timeout: float | None = None) -> ShutdownReport:
    """Shut down every live pool in this process that is not shut down yet, with one shared deadline.

    ``timeout=None`` uses the largest ``exit_timeout`` among those pools. This is
    what the exit hook runs; servers call it from their worker-exit hook.
    A pool whose shutdown already finished is skipped: its report was given
    then, and the tasks it left running belong to their daemon threads. Waiting
    for them again would stretch a server's exit past the budget it just spent.
    """
    pools = [pool for pool in list(_live_pools) if not pool._drained()]
    if timeout is None:
        timeout = max((pool.exit_timeout for pool in pools), default=0.0)
    return drain(pools, timeout)


# --8<-- [start:drain]
def drain(pools: list[WorkerPool], timeout: float | None) -> ShutdownReport:
    """Stop intake on every pool first, then drain them all against one deadline.

    Closing all before waiting on any means a pool drained last cannot receive
    new work while the first ones drain, and the total wait is ``timeout``, not
    ``timeout`` times the number of pools. ``timeout=None`` waits as long as it takes.
    """
    started = time.monotonic()
    deadline = None if timeout is None else started + max(0.0, timeout)
    tickets = [(pool, pool._close()) for pool in pools]
    reports: dict[str, ShutdownReport] = {}
    for pool, ticket in tickets:
        key, n = pool.name, 1
        while key in reports:  # two systems in one process may both have a "general"
            n += 1
            key = f"{pool.name}#{n}"
        reports[key] = pool._drain(ticket, deadline)
    return ShutdownReport.combine(reports, time.monotonic() - started)
# --8<-- [end:drain]


# --8<-- [start:fork-reset]
def _reset_pools_in_child() -> None:
    global _default_clock_lock
    _default_clock_lock = threading.Lock()  # another thread may have held it at the fork
    for pool in list(_live_pools):
        pool._reset()


os.register_at_fork(after_in_child=_reset_pools_in_child)
# --8<-- [end:fork-reset]
