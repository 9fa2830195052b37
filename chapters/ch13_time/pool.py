"""A named pool of worker threads with its own FIFO queue and its own counters.

``WorkerPool`` is the unit of isolation: a task submitted to one pool is only
ever run by that pool's workers, so however busy one pool is, it cannot delay
another. It guarantees:

* **Bad input fails at the caller.** ``submit`` raises ``TypeError`` for a
  non-callable, ``PoolClosedError`` after shutdown and ``QueueFullError`` when
  a bounded queue is full; it never blocks.
* **A worker never dies of a task.** Whatever a task raises, ``SystemExit`` and
  ``KeyboardInterrupt`` included, is caught, counted, logged and recorded as the
  pool's ``last_error``; the worker goes on to the next task. The other user
  code a failure runs (the exception's ``__str__``, the task's names, its retry
  policy, log handlers) runs outside the mutex, and nothing it raises escapes.
* **Lazy and fork-safe.** Creating a pool starts no thread; the first submit
  does. A child process created by ``os.fork()`` gets the pool back fresh:
  empty, with zeroed counters and no threads until its own first submit.
* **One consistent picture.** Every counter change and every snapshot happens
  under the pool's one mutex (see ``stats.py`` for the invariant it keeps).
* **Bounded, honest shutdown.** ``shutdown(timeout)`` stops intake, lets the
  workers drain the queue until the deadline, then drops what is left and
  reports it by name; it returns within ``timeout`` plus ``JOIN_GRACE``.
  Workers are daemon threads, so a task that never returns cannot hold the
  process open; an exit hook drains every live pool for a bounded time before
  the interpreter stops them. ``join`` and ``shutdown`` from one of the pool's
  own workers raise ``RuntimeError``; every timeout is None or finite.
* **Weakly held.** Workers hold their pool only weakly while they wait: an
  unreferenced idle pool is collected and its workers end.

Free-threading checklist (what still relies on the GIL):

* ``_busy_pools`` is one dict written under each pool's own mutex, so two pools
  may set and delete their own keys at once. A single item assignment or
  deletion is atomic under the GIL, and free-threaded builds lock each dict
  internally; no code reads it, it only holds busy pools alive.
* ``_names[slot]`` (the running task's name, for the snapshot) is written by
  that slot's worker without the mutex, just before its task runs, so that
  no status request ever runs user code; a list item assignment is atomic
  under the GIL and on free-threaded builds (lists lock per object). A
  snapshot taken in between shows ``"<starting>"``.
* Everything else shared is read and written under the pool's mutex or a
  module lock (deferred tasks, ``_deferred``, and each slot's progress
  included); the worker's thread-local is per thread.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .clock import (
    Clock,
    Handle,
    SystemClock,
    bounded_wait,
    check_seconds,
    check_timeout,
)
from .errors import PoolClosedError, QueueFullError
from .recent import RecentTasks
from .retry import DeadLetter, Retrying, task_name
from .stats import MESSAGE_LIMIT, ErrorRecord, PoolStats, describe

__all__ = [
    "ShutdownReport",
    "WorkerPool",
    "default_clock",
    "drain",
    "drain_all",
    "report_progress",
]

logger = logging.getLogger("dualqueue")

# How long a shutdown waits, after its deadline, for idle workers to exit:
# one budget for all pools and threads together, never one per thread.
JOIN_GRACE = 0.25
# How long a log record emitted during a shutdown may hold it up.
LOG_GRACE = 0.05


class _Task(NamedTuple):
    """A queued task. A tuple: submit is on the request's path (see benchmarks)."""

    fn: Callable[..., object]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    enqueued_at: float
    failures: int  # failed attempts so far


class OwnedTask:
    """A task dualqueue itself hands a pool (a debouncer's run), told its fate.

    A drain calls these outside the pool's mutex. Each returns the names of any
    further work it gave up with the task (a debouncer's follow-up batch), so
    that the shutdown report names it as dropped.
    """

    __slots__ = ("task_name",)

    def __init__(self, name: str) -> None:
        self.task_name = name

    def dropped(self, args: tuple[Any, ...]) -> tuple[str, ...]:
        """The drain removed this task unrun, called with ``args``."""
        return ()

    def abandoned(self) -> tuple[str, ...]:
        """The drain's deadline passed while this task was still running."""
        return ()


def _log(
    level: int,
    msg: str,
    *args: object,
    exc: BaseException | None = None,
    aside: bool = False,
) -> None:
    # A log handler or filter is user code: whatever it raises (or however it
    # fails to format a hostile exception) must not reach a worker or a drain.
    # With aside=True the record is emitted on a short-lived daemon thread,
    # waited for LOG_GRACE at most: a normal handler has finished by then, and
    # one that blocks cannot hold up a shutdown that must keep its deadline
    # (inline if no thread can start, as at some exits).
    if aside:
        thread = threading.Thread(
            target=_log,
            args=(level, msg, *args),
            kwargs={"exc": exc},
            name="dualqueue-log",
            daemon=True,
        )
        try:
            thread.start()
        except RuntimeError:
            pass
        else:
            thread.join(LOG_GRACE)
            return
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


@dataclass(frozen=True)
class ShutdownReport:
    """What a shutdown did with the work it found.

    Every task outstanding when intake stopped (``scheduled + queued +
    running``) ends up in exactly one of three places, so always
    ``finished + len(dropped) + len(still_running) == scheduled + queued +
    running``. Deferred tasks not yet due (``scheduled``) are never waited
    for: they are dropped at once and named first in ``dropped``.
    """

    queued: int  # waiting (in the queue or for a retry) when intake stopped
    running: int  # running when intake stopped
    finished: int  # of those, finished (succeeded or failed) during the drain
    dropped: tuple[str, ...]  # names of tasks removed unrun at the deadline
    still_running: tuple[
        str, ...
    ]  # names of tasks still running at the deadline, abandoned
    elapsed: float  # seconds the drain took
    pools: Mapping[str, ShutdownReport] = field(
        default_factory=dict
    )  # per pool, for a TaskSystem
    scheduled: int = 0  # deferred and not yet due when intake stopped: dropped

    @property
    def complete(self) -> bool:
        """True if nothing was dropped or abandoned."""
        return not self.dropped and not self.still_running

    @classmethod
    def combine(
        cls, reports: Mapping[str, ShutdownReport], elapsed: float
    ) -> ShutdownReport:
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
            scheduled=sum(r.scheduled for r in parts),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-serializable, for logs and status pages."""
        return {
            "scheduled": self.scheduled,
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
    submitted_before: int  # a debouncer's follow-up may still join the drain
    started: float
    scheduled: tuple[_Task, ...] = ()  # deferred, not yet due: dropped at the close


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


# Which pool the current thread works for: join() and shutdown() from a
# pool's own worker would wait for themselves, so they raise instead.
_worker_of = threading.local()


def _own_pool() -> WorkerPool | None:
    ref: weakref.ref[WorkerPool] | None = getattr(_worker_of, "pool", None)
    return None if ref is None else ref()


def refuse_own_worker(pools: Iterable[WorkerPool], action: str) -> None:
    """Raise ``RuntimeError`` if the calling thread is a worker of one of ``pools``."""
    own = _own_pool()
    if own is not None and any(pool is own for pool in pools):
        raise RuntimeError(
            f"{action} called from a worker of the {own.name!r} pool would wait "
            f"for itself; call it from another thread"
        )


class WorkerPool:
    """``workers`` threads taking tasks, first in first out, from one queue.

    ``maxsize`` bounds the queue (0, the default, means unbounded): a submit to
    a full queue raises ``QueueFullError`` at the caller. ``dead_letters`` is
    the size of the ring of finally-failed tasks shown in the snapshot (0 keeps
    none). ``exit_timeout`` is how long the interpreter-exit drain may wait for
    this pool. ``clock`` times ages and schedules retries (a shared
    ``SystemClock`` by default). No thread starts until the first submit.
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
        self.exit_timeout = check_seconds("exit_timeout", exit_timeout)
        self.clock: Clock = clock if clock is not None else default_clock()
        self._now = self.clock.now
        self._generation = 0
        self._reset()
        with _registry_lock:
            _live_pools.add(self)

    def _reset(self) -> None:
        # The one mutex. It guards everything below: the queue, the counters in
        # _stats, _current, _retries, _threads, _held and the
        # _closed/_stopping flags. No user code ever runs while it is held.
        # Invariant while it is not held:
        #   _stats.submitted == _stats.scheduled + len(_queue) + _stats.retrying
        #                       + _stats.running + _stats.succeeded + _stats.failed
        #                       + _stats.dropped
        # An RLock only so that a signal handler (or a garbage collection) that
        # interrupts this thread inside a critical section can detect it and
        # refuse, instead of deadlocking (see _refuse_reentry).
        self._mutex = threading.RLock()
        # Held by the one drain of this pool in progress (see drain()).
        self._drain_lock = threading.Lock()
        # Notified when a task is queued or when idle workers must exit.
        self._not_empty = threading.Condition(self._mutex)
        # Notified when nothing is queued, waiting for a retry, or running.
        self._all_tasks_done = threading.Condition(self._mutex)
        self._queue: deque[_Task] = deque()
        self._stats = PoolStats(self._dead_letter_limit)
        # The last finished tasks, for the status page; it has its own lock.
        self._recent = RecentTasks()
        self._current: list[tuple[_Task, float] | None] = [None] * self.workers
        # Tasks waiting on the clock, by key: for a retry's backoff (counted
        # as "retrying", part of "queued") and for a deferred task's due time
        # (counted as "scheduled"). The same timer puts either back in the
        # queue (_wait_on_clock, _requeue); a shutdown cancels both.
        self._retries: dict[int, tuple[_Task, Handle]] = {}
        self._deferred: dict[int, tuple[_Task, Handle]] = {}
        self._retry_keys = 0
        # Per worker slot: the progress the running task last reported,
        # (current, total, message, at), or None. Cleared with _current.
        self._progress: list[tuple[float, float | None, str, float] | None] = [
            None
        ] * self.workers
        # Per worker slot: the running task's name, written by that worker
        # before its task runs, reset under the mutex when it ends.
        self._names: list[str | None] = [None] * self.workers
        self._threads: list[threading.Thread] = []
        self._closed = False  # no more submits
        self._stopping = False  # idle workers exit
        # While tasks are outstanding the pool is held in _busy_pools (its
        # workers hold it only weakly); once idle, an unreferenced pool is
        # collected and the weakref's callback wakes its workers to end.
        self._held = False
        self._generation += 1  # a worker left over from before a fork stops
        self._self_ref = weakref.ref(self, _waker(self._not_empty))

    def __repr__(self) -> str:
        return (
            f"<WorkerPool {self.name!r} workers={self.workers} maxsize={self.maxsize}>"
        )

    def _refuse_reentry(self, action: str) -> None:
        if self._mutex._is_owned():  # type: ignore[attr-defined]
            raise RuntimeError(
                f"{self.name!r} pool: {action} called while this thread is inside the "
                f"pool's critical section (from a signal handler or a __del__); defer "
                f"it: raise SystemExit for the exit drain, or call it from another "
                f"thread"
            )

    # -- intake ------------------------------------------------------------

    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` to run on one of this pool's workers.

        Returns at once. Raises ``TypeError`` if ``fn`` is not callable,
        ``PoolClosedError`` after shutdown, ``QueueFullError`` if the queue is
        bounded and full, ``RuntimeError`` if no worker thread could be
        started; in those cases nothing was queued.
        """
        self._put(fn, args, kwargs)

    def _put(
        self, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        # The intake behind submit. TaskSystem.submit calls it directly, so a
        # task's arguments are packed once on the request's path, not twice
        # (measured: about a quarter of TaskSystem.submit's cost). A subclass
        # that changes intake overrides this, not submit.
        if not callable(fn):
            raise TypeError(
                f"{self.name!r} pool: a task must be callable, got {type(fn).__name__}"
            )
        now = self._now()
        with self._mutex:
            refused = self._refusal(fn)
            if refused is None:
                self._queue.append(_Task(fn, args, kwargs, now, 0))
                self._stats.submitted += 1
                self._stats.last_submitted_at = now
                if not self._held:
                    self._held = True
                    _busy_pools[id(self)] = self
                self._not_empty.notify()
                return
        raise self._refused(refused, task_name(fn))

    def submit_after(
        self, delay: float, fn: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> None:
        """Run ``fn(*args, **kwargs)`` on this pool once ``delay`` seconds have passed.

        ``delay`` is measured on the pool's clock (``FakeClock.advance`` moves
        it in tests) and must be a finite number of seconds >= 0; 0 queues the
        task as soon as the clock's thread gets to it. Until it is due the task
        is counted as ``scheduled``: it holds no worker and no queue slot, and
        when due it joins the back of the queue whatever ``maxsize`` says (it
        was accepted here). ``join`` waits for it; ``shutdown`` drops it at
        once, unrun, and names it in its report. Returns at once. Raises as
        ``submit`` does (``TypeError``, ``PoolClosedError``, ``QueueFullError``
        if the queue is bounded and full now, ``RuntimeError`` if no worker or
        clock thread could be started), and ``ValueError``/``TypeError`` for a
        bad ``delay``; in those cases nothing was scheduled.
        """
        self._put_after(delay, fn, args, kwargs)

    # --8<-- [start:submit-after]
    def _put_after(
        self,
        delay: float,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        delay = check_seconds("delay", delay)
        if not callable(fn):
            raise TypeError(
                f"{self.name!r} pool: a task must be callable, got {type(fn).__name__}"
            )
        now = self._now()
        error: BaseException | None = None
        with self._mutex:
            refused = self._refusal(fn)
            if refused is None:
                # enqueued_at is the due time: a deferred task's queue age
                # starts when it falls due, not when it was submitted.
                task = _Task(fn, args, kwargs, now + delay, 0)
                try:
                    self._wait_on_clock(task, delay, deferred=True)
                except Exception as exc:  # the clock refused: nothing counted
                    error = exc
                else:
                    self._stats.submitted += 1
                    self._stats.last_submitted_at = now
                    if not self._held:
                        self._held = True
                        _busy_pools[id(self)] = self
                    return
        if error is not None:
            raise RuntimeError(
                f"{self.name!r} pool: the clock refused to schedule "
                f"{task_name(fn)} ({type(error).__name__}); it was not queued"
            ) from error
        raise self._refused(refused, task_name(fn))  # type: ignore[arg-type]
    # --8<-- [end:submit-after]

    def _refusal(self, fn: object) -> type[Exception] | None:
        # Mutex held. Why a task cannot be queued now, or None if it can. A
        # debouncer's run (flushed by a shutdown while its previous run was
        # in the pool) is still accepted by a pool that is closed but draining.
        if self._closed and (self._stopping or not issubclass(type(fn), OwnedTask)):
            return PoolClosedError
        if self.maxsize and len(self._queue) >= self.maxsize:
            self._stats.rejected += 1
            return QueueFullError
        if not self._threads and not self._start_workers():
            return RuntimeError
        return None

    def _refused(self, kind: type[Exception], name: str) -> Exception:
        # Built after the mutex is released: the name is user code.
        if kind is PoolClosedError:
            return kind(f"{self.name!r} pool is shut down; {name} was not queued")
        if kind is QueueFullError:
            return kind(
                f"{self.name!r} pool queue is full ({self.maxsize} waiting); "
                f"{name} was not queued"
            )
        return kind(
            f"{self.name!r} pool could not start a worker thread (is the "
            f"interpreter exiting?); {name} was not queued"
        )

    def _start_workers(self) -> bool:
        # Mutex held, once per process: the new threads block on the mutex
        # until the caller releases it. Each holds only a weak reference to
        # the pool. True if at least one thread runs; a Python that refuses
        # new threads (3.12.0-3.12.1 at exit) makes the submit fail instead
        # of leaving a counted task no worker will ever run.
        for slot in range(self.workers):
            thread = threading.Thread(
                target=_work,
                args=(
                    self._self_ref,
                    self._not_empty,
                    self._queue,
                    slot,
                    self._generation,
                ),
                name=f"dualqueue-{self.name}-{slot}",
                daemon=True,
            )
            try:
                thread.start()
            except RuntimeError:
                break
            self._threads.append(thread)
        return bool(self._threads)

    # -- a task's end ------------------------------------------------------

    def _run(self, slot: int, task: _Task) -> None:
        # On a worker, without the mutex. Nothing escapes: a worker never dies
        # of a task, of its exception, of its retry policy or of a log handler.
        # This worker set its slot under the mutex before calling, and only it
        # clears it (in _task_*): reading the start time here needs no lock.
        started = self._current[slot][1]  # type: ignore[index]
        # The running task's name for the snapshot, read here on the worker
        # (user code: a status request must never run it); see the checklist.
        self._names[slot] = task_name(task.fn)
        try:
            task.fn(*task.args, **task.kwargs)
        except BaseException as exc:
            # Recorded before the counters, so that a join() that returns has
            # seen it; record() reads the names outside its lock and never raises.
            self._recent.record(
                task.fn, task.enqueued_at, started, self._now(), self.clock.wall(), exc
            )
            self._task_failed(slot, task, exc)
        else:
            self._recent.record(
                task.fn, task.enqueued_at, started, self._now(), self.clock.wall()
            )
            self._task_succeeded(slot)

    def _task_succeeded(self, slot: int) -> None:
        now = self._now()
        with self._mutex:
            self._current[slot] = None
            self._progress[slot] = None
            self._names[slot] = None
            self._stats.running -= 1
            self._stats.succeeded += 1
            self._stats.last_finished_at = now
            self._notify_if_idle()

    def _task_failed(self, slot: int, task: _Task, exc: BaseException) -> None:
        # Everything that runs user code first, outside the mutex: the
        # exception's text and names, the task's name, the retry policy.
        failures = task.failures + 1
        error_type, message = describe(exc)
        name = task_name(task.fn)
        delay, policy_error = self._retry_delay(task.fn, exc, failures)
        if policy_error is not None:
            error_type, message = describe(policy_error)
        now, wall = self._now(), self.clock.wall()
        retry_handle = None
        with self._mutex:
            self._current[slot] = None
            self._stats.running -= 1
            self._stats.last_finished_at = now
            self._stats.last_error = ErrorRecord(error_type, message, now)
            if delay is not None and not self._stopping:
                retry_handle = self._schedule_retry(
                    task._replace(failures=failures), delay
                )
            self._progress[slot] = None
            self._names[slot] = None
            if retry_handle is None:
                self._stats.failed += 1
                self._stats.dead_letters.append(
                    DeadLetter(name, failures, error_type, message, wall)
                )
            self._notify_if_idle()
        # Logged outside the mutex: a slow log handler must not stall the pool.
        if retry_handle is not None:
            _log(
                logging.WARNING,
                "dualqueue: task %s failed in pool %r (attempt %d, %s: %s); "
                "retrying in %.2fs",
                name,
                self.name,
                failures,
                error_type,
                message,
                delay,
            )
        else:
            _log(
                logging.ERROR,
                "dualqueue: task %s failed in pool %r (attempt %d)",
                name,
                self.name,
                failures,
                exc=policy_error or exc,
            )

    @staticmethod
    def _retry_delay(
        fn: object, exc: BaseException, failures: int
    ) -> tuple[float | None, BaseException | None]:
        # (delay before the next attempt or None, the policy's own error).
        # A policy is user code (a subclass, an rng): whatever it raises or
        # returns that is not a finite delay ends the task as a final failure.
        if not issubclass(type(fn), Retrying):
            return None, None
        try:
            policy = fn.policy  # type: ignore[attr-defined]
            if not policy.should_retry(exc, failures):
                return None, None
            return check_seconds("a retry policy's delay", policy.delay(failures)), None
        except BaseException as error:
            return None, error

    def _schedule_retry(self, task: _Task, delay: float) -> Handle | None:
        # Mutex held. The task stays counted (as "retrying", part of "queued")
        # while no worker holds it; the clock puts it back in the queue.
        # The clock is ours or the user's: if it refuses, the task fails.
        try:
            handle = self._wait_on_clock(task, delay, deferred=False)
        except Exception:
            return None
        self._stats.retried += 1
        return handle

    def _wait_on_clock(self, task: _Task, delay: float, *, deferred: bool) -> Handle:
        # Mutex held. Park ``task`` on the clock for ``delay`` seconds, counted
        # as scheduled (a deferred task) or retrying (a retry's backoff), then
        # _requeue puts it at the back of the queue. Raises what the clock
        # raises; then nothing was parked or counted.
        key = self._retry_keys = self._retry_keys + 1
        handle = self.clock.call_later(delay, lambda: self._requeue(key))
        if deferred:
            self._deferred[key] = (task, handle)
            self._stats.scheduled += 1
        else:
            self._retries[key] = (task, handle)
            self._stats.retrying += 1
        return handle

    def _requeue(self, key: int) -> None:
        # On the clock's thread: a retry's wait or a deferred task's delay is
        # over. Not refused by maxsize: the task was accepted long ago.
        with self._mutex:
            entry = self._retries.pop(key, None)
            if entry is not None:
                self._stats.retrying -= 1
            else:
                entry = self._deferred.pop(key, None)
                if entry is None:  # dropped by a shutdown meanwhile
                    return
                self._stats.scheduled -= 1
            self._queue.append(entry[0])
            self._not_empty.notify()

    def _idle(self) -> bool:
        return (
            not self._queue
            and not self._stats.running
            and not self._stats.retrying
            and not self._stats.scheduled
        )

    def _notify_if_idle(self) -> None:
        # Mutex held.
        if self._idle():
            if self._held:  # the caller still holds the pool: it is not freed here
                self._held = False
                del _busy_pools[id(self)]
            self._all_tasks_done.notify_all()

    # -- waiting and stopping ---------------------------------------------

    def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is scheduled, queued, waiting for a retry, or running.

        A task given to ``submit_after`` counts from the moment it is accepted:
        ``join`` returns only after its delay has passed and it has run (on a
        ``FakeClock``, only once a test has advanced past its due time).

        Returns True if that happened, False if ``timeout`` seconds passed first.
        Unlike ``queue.Queue.join`` it can time out, and it works after a task
        raised (a failed task still counts as done). A failure is logged outside
        the lock, after it is counted: its log line may follow ``join``'s return.
        Raises ``RuntimeError`` when called from one of this pool's own workers
        (it would wait for itself) and ``ValueError`` for a timeout that is not
        None or a finite number of seconds >= 0.
        """
        timeout = check_timeout("timeout", timeout)
        refuse_own_worker((self,), "join()")
        self._refuse_reentry("join()")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._all_tasks_done:
            while not self._idle():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._all_tasks_done.wait(bounded_wait(remaining))
            return True

    def shutdown(self, timeout: float | None = 30.0) -> ShutdownReport:
        """Stop intake, drain for up to ``timeout`` seconds, and report.

        After the deadline, tasks still queued (or waiting for a retry) are
        dropped and named in the report; tasks still running are named as
        ``still_running`` and left to their daemon threads. ``timeout=None``
        waits as long as it takes; ``timeout=0`` drops everything queued at
        once. It returns within ``timeout`` plus a fraction of a second,
        whatever the tasks and log handlers do. Calling it again is harmless:
        it drains whatever is left. Raises ``RuntimeError`` when called from
        one of this pool's own workers.
        """
        return drain([self], timeout).pools[self.name]

    def _close(self, mine: bool = True) -> _Ticket:
        # ``mine``: this drain accounts for the pool (holds its drain lock), so
        # it drops the deferred tasks not yet due, at once, and names them.
        self._refuse_reentry("shutdown()")
        with self._mutex:
            self._closed = True
            unrun: list[_Task] = []
            if mine:
                unrun = self._drop_deferred()
            return _Ticket(
                queued=len(self._queue) + self._stats.retrying,
                running=self._stats.running,
                done_before=self._stats.succeeded + self._stats.failed,
                submitted_before=self._stats.submitted,
                started=time.monotonic(),
                scheduled=tuple(unrun),
            )

    def _drop_deferred(self) -> list[_Task]:
        # Mutex held. Deferred tasks not yet due are never waited for by a
        # shutdown: their timers are cancelled and they are counted as dropped.
        tasks = []
        for task, handle in self._deferred.values():
            handle.cancel()
            tasks.append(task)
        self._deferred.clear()
        self._stats.scheduled = 0
        self._stats.dropped += len(tasks)
        self._notify_if_idle()
        return tasks

    # --8<-- [start:drain-one]
    def _drain(
        self, ticket: _Ticket, deadline: float | None
    ) -> tuple[ShutdownReport, list[threading.Thread]]:
        with self._all_tasks_done:
            while not self._idle():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._all_tasks_done.wait(bounded_wait(remaining))
            dropped_tasks = self._drop_queued()
            running = [entry[0] for entry in self._current if entry is not None]
            finished = self._stats.succeeded + self._stats.failed - ticket.done_before
            joined = self._stats.submitted - ticket.submitted_before  # follow-ups
            self._stopping = True
            self._not_empty.notify_all()
            threads = [] if running else list(self._threads)
        # Outside the mutex: names are user code, and a debouncer's run learns
        # its fate (it may give up a follow-up batch, named here as dropped).
        dropped = [task_name(task.fn) for task in (*ticket.scheduled, *dropped_tasks)]
        extra: list[str] = []
        for task in dropped_tasks:
            if issubclass(type(task.fn), OwnedTask):
                extra += task.fn.dropped(task.args)  # type: ignore[attr-defined]
        for task in running:
            if issubclass(type(task.fn), OwnedTask):
                extra += task.fn.abandoned()  # type: ignore[attr-defined]
        if extra:  # flushed into this pool, then dropped: counted as its tasks
            with self._mutex:
                self._stats.submitted += len(extra)
                self._stats.dropped += len(extra)
        report = ShutdownReport(
            queued=ticket.queued + joined + len(extra),
            running=ticket.running,
            finished=finished,
            dropped=(*dropped, *extra),
            still_running=tuple(task_name(task.fn) for task in running),
            elapsed=time.monotonic() - ticket.started,
            scheduled=len(ticket.scheduled),
        )
        if not report.complete:
            _log(
                logging.WARNING,
                "dualqueue: pool %r shut down with %d task(s) dropped %s "
                "and %d still running %s",
                self.name,
                len(report.dropped),
                list(report.dropped),
                len(report.still_running),
                list(report.still_running),
                aside=True,
            )
        return report, threads

    def _drop_queued(self) -> list[_Task]:
        # Mutex held. The only place a task is lost, and it is counted here;
        # the caller names the dropped tasks once the mutex is released.
        tasks = list(self._queue)
        self._queue.clear()
        for task, handle in self._retries.values():
            handle.cancel()
            tasks.append(task)
        self._retries.clear()
        self._stats.retrying = 0
        self._stats.dropped += len(tasks)
        # Deferred tasks left by a drain that did not own the close: none in
        # practice (intake stopped before), dropped here all the same.
        tasks += self._drop_deferred()
        self._notify_if_idle()
        return tasks

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

        JSON-serializable. ``queued`` includes tasks waiting for a retry and
        ``scheduled`` counts deferred tasks not yet due, so
        ``submitted == scheduled + queued + running + succeeded + failed +
        dropped``. ``next_scheduled_in`` is the seconds until the earliest
        deferred task falls due (None if there is none). ``running_tasks``
        names each running task with its running time and the progress it
        last reported (see ``report_progress``), or None.
        Raises ``RuntimeError`` if this thread is inside the pool's critical
        section (a signal handler that interrupted ``submit``): see the module.
        """
        self._refuse_reentry("snapshot()")
        now, wall = self._now(), self.clock.wall()
        with self._mutex:
            stats = self._stats.copy()
            in_queue = len(self._queue)
            oldest_queued = self._queue[0].enqueued_at if self._queue else None
            running_since = [entry[1] for entry in self._current if entry is not None]
            running = [
                (name, entry[1], progress)
                for entry, name, progress in zip(
                    self._current, self._names, self._progress, strict=True
                )
                if entry is not None
            ]
            # O(scheduled) under the mutex, on the status path only.
            next_due = min(
                (task.enqueued_at for task, _ in self._deferred.values()), default=None
            )
            alive = sum(thread.is_alive() for thread in self._threads)
            closed, started = self._closed, bool(self._threads)
        oldest_running = min(running_since) if running_since else None
        return {
            "name": self.name,
            "workers": self.workers,
            "alive_workers": alive,
            "started": started,
            "closed": closed,
            "maxsize": self.maxsize,
            **stats.as_dict(in_queue=in_queue, now=now, wall=wall),
            "oldest_queued_seconds": _age(now, oldest_queued),
            "oldest_running_seconds": _age(now, oldest_running),
            "next_scheduled_in": None
            if next_due is None
            else round(max(0.0, next_due - now), 6),
            "running_tasks": [
                _running_task(fn, since, progress, now)
                for fn, since, progress in running
            ],
            "recent": self._recent.snapshot(),
        }

    # --8<-- [start:report-progress]
    def _report_progress(
        self, slot: int, record: tuple[float, float | None, str]
    ) -> bool:
        # On this pool's worker ``slot``, from its running task.
        at = self._now()
        with self._mutex:
            if self._current[slot] is None:  # a forked child's stale worker
                return False
            self._progress[slot] = (*record, at)
            return True
    # --8<-- [end:report-progress]


def _running_task(
    name: str | None,
    since: float,
    progress: tuple[float, float | None, str, float] | None,
    now: float,
) -> dict[str, Any]:
    shown: dict[str, Any] | None = None
    if progress is not None:
        current, total, message, at = progress
        shown = {
            "current": current,
            "total": total,
            "fraction": None if not total else round(min(1.0, current / total), 4),
            "message": message,
            "age_seconds": _age(now, at),
        }
    return {
        "name": "<starting>" if name is None else name,
        "running_seconds": _age(now, since),
        "progress": shown,
    }


def report_progress(
    current: float, total: float | None = None, message: str = ""
) -> bool:
    """Record how far the running task is: ``current`` of ``total``, with a short note.

    Call it from a task running on a pool's worker: the pool's snapshot shows
    it under ``running_tasks`` until the task ends (it is cleared then, never
    shown for the next task). Returns True if recorded, False if the calling
    thread is running no task of a pool (a task run inline by a test, by an
    immediate backend, or a thread the task started): then nothing happens.

    Cheap enough to call in a loop: one short critical section, no I/O.
    ``current`` is a finite number >= 0; ``total`` None (unknown) or a finite
    number > 0 and >= ``current`` (a ``current`` beyond ``total`` is a
    counting bug and is refused, not clamped); ``message`` a ``str``, cut to
    200 characters. Anything else raises ``TypeError`` or ``ValueError`` here,
    in the task.
    """
    current = _check_amount("current", current)
    if total is not None:
        total = _check_amount("total", total)
        if total <= 0:
            raise ValueError(f"total must be > 0 or None, got {total!r}")
        if current > total:
            raise ValueError(f"current ({current!r}) must not exceed total ({total!r})")
    if not isinstance(message, str):
        raise TypeError(f"message must be a str, got {type(message).__name__}")
    text = str.__str__(message)
    if len(text) > MESSAGE_LIMIT:
        text = text[: MESSAGE_LIMIT - 1] + "…"
    pool = _own_pool()
    slot: int | None = getattr(_worker_of, "slot", None)
    if pool is None or slot is None:
        return False
    return pool._report_progress(slot, (current, total, text))


def _check_amount(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        amount = float(value)
    except OverflowError:
        amount = math.inf
    if not 0 <= amount < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return amount


def _age(now: float, since: float | None) -> float | None:
    # Clamped: the clock is read before the mutex, so a task queued in between
    # may look a few microseconds younger than zero.
    return None if since is None else round(max(0.0, now - since), 6)


def _waker(not_empty: threading.Condition) -> Callable[[object], None]:
    # The callback of a pool's weak reference: the pool is gone, so wake its
    # idle workers to let them see it and end. Holds the condition, not the pool.
    def wake(_: object) -> None:
        with not_empty:
            not_empty.notify_all()

    return wake


# --8<-- [start:worker]
def _work(
    pool_ref: weakref.ref[WorkerPool],
    not_empty: threading.Condition,
    queue: deque[_Task],
    slot: int,
    generation: int,
) -> None:
    # A worker. It holds its pool strongly only while it has a task: waiting
    # for work, it holds the queue and the condition, so an unreferenced idle
    # pool can be collected (as ThreadPoolExecutor's workers do).
    _worker_of.pool = pool_ref
    _worker_of.slot = slot
    while True:
        with not_empty:
            while not queue:
                pool = pool_ref()
                if pool is None or pool._stopping or pool._generation != generation:
                    return
                del pool
                not_empty.wait()
            pool = pool_ref()
            if pool is None:  # pragma: no cover - a busy pool keeps itself alive
                return
            task = queue.popleft()
            pool._stats.running += 1
            pool._current[slot] = (task, pool._now())
        pool._run(slot, task)
        if pool._generation != generation:
            return  # the task forked: this is the child, whose pool starts afresh
        # Drop the task (its arguments may be large) and the pool before waiting.
        del pool, task


# --8<-- [end:worker]


# Exit and fork, handled once for every pool in the process.
#
# Exit: workers are daemon threads, so the interpreter would stop them abruptly
# with tasks still queued. drain_all() is what the exit hook (registered in
# system.py, which flushes debouncers first) runs while they are still alive.
#
# Fork: threads do not survive fork(), a mutex held by one of them at fork time
# would stay held forever in the child, and a backlog copied into the child
# would run once in every child. So the child rebuilds each pool from scratch.
#
# The registry is guarded by _registry_lock (pools are created on any thread
# while an exit or a server's hook walks it) and always iterated as a copy.
_live_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()
_registry_lock = threading.Lock()
# Pools with outstanding tasks, by id: an unreferenced pool still runs what it
# accepted. Written under each pool's own mutex; a dict's single item set and
# delete are atomic under the GIL (and internally locked on free-threaded builds).
_busy_pools: dict[int, WorkerPool] = {}


def live_pools() -> list[WorkerPool]:
    """A copy of the registry of live pools, taken under its lock."""
    with _registry_lock:
        return list(_live_pools)


def drain_all(timeout: float | None = None) -> ShutdownReport:
    """Shut down every live pool not shut down yet, against one shared deadline.

    ``timeout=None`` uses the largest ``exit_timeout`` among those pools. This is
    what the exit hook runs; servers call it from their worker-exit hook.
    A pool whose shutdown already finished is skipped: its report was given
    then, and the tasks it left running belong to their daemon threads. Waiting
    for them again would stretch a server's exit past the budget it just spent.
    """
    timeout = check_timeout("timeout", timeout)
    pools = [pool for pool in live_pools() if not pool._drained()]
    if timeout is None:
        timeout = max((pool.exit_timeout for pool in pools), default=0.0)
    return drain(pools, timeout)


# --8<-- [start:drain]
def drain(pools: list[WorkerPool], timeout: float | None) -> ShutdownReport:
    """Stop intake on every pool first, then drain them all against one deadline.

    Closing all before waiting on any means a pool drained last cannot receive
    new work while the first ones drain, and the total wait is ``timeout``, not
    ``timeout`` times the number of pools. ``timeout=None`` waits as long as it
    takes. Idle workers are then given ``JOIN_GRACE`` seconds, in all, to exit.
    """
    timeout = check_timeout("timeout", timeout)
    refuse_own_worker(pools, "shutdown()")
    for pool in pools:
        pool._refuse_reentry("shutdown()")
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    # One drain per pool at a time (two shutdowns at once, or a pool listed
    # twice): each task is accounted for in exactly one report. The locks are
    # taken in one global order, so concurrent drains cannot deadlock, and
    # only until the deadline: a pool another drain still holds then is
    # closed, and reported empty here, since that drain accounts for it.
    owned: dict[int, WorkerPool] = {}
    for pool in sorted({id(pool): pool for pool in pools}.values(), key=id):
        if deadline is None:
            acquired = pool._drain_lock.acquire()
        else:
            wait = min(max(0.0, deadline - time.monotonic()), threading.TIMEOUT_MAX)
            acquired = pool._drain_lock.acquire(timeout=wait)
        if acquired:
            owned[id(pool)] = pool
    tickets: list[tuple[WorkerPool, bool, _Ticket]] = []
    try:
        for pool in pools:
            mine = id(pool) in owned
            ticket = pool._close(mine)
            tickets.append((pool, owned.pop(id(pool), None) is not None, ticket))
        reports: dict[str, ShutdownReport] = {}
        threads: list[threading.Thread] = []
        for pool, mine, ticket in tickets:
            key, n = pool.name, 1
            while (
                key in reports
            ):  # two systems in one process may both have a "general"
                n += 1
                key = f"{pool.name}#{n}"
            if mine:
                reports[key], idle_threads = pool._drain(ticket, deadline)
                threads += idle_threads
            else:
                reports[key] = ShutdownReport(0, 0, 0, (), (), 0.0)
    finally:
        for pool, mine, _ in tickets:
            if mine:
                pool._drain_lock.release()
        for pool in owned.values():  # acquired, but _close raised first
            pool._drain_lock.release()
    join_until = time.monotonic() + JOIN_GRACE
    for thread in threads:
        thread.join(max(0.0, join_until - time.monotonic()))
    return ShutdownReport.combine(reports, time.monotonic() - started)


# --8<-- [end:drain]


# --8<-- [start:fork-reset]
def _reset_pools_in_child() -> None:
    global _default_clock_lock, _registry_lock
    # Another thread may have held these at the fork.
    _default_clock_lock = threading.Lock()
    _registry_lock = threading.Lock()
    for pool in list(_live_pools):
        pool._reset()
    _busy_pools.clear()  # the parent's outstanding tasks are not the child's


os.register_at_fork(after_in_child=_reset_pools_in_child)
# --8<-- [end:fork-reset]
