"""A trailing-edge debouncer: many triggers in a burst, one run with all of them.

``Debouncer(fn, wait)`` collects the items passed to ``trigger(item)`` and calls
``fn(batch)`` once the triggers have been quiet for ``wait`` seconds, with every
item of the burst in trigger order. Its guarantees, in lodash's vocabulary:

* **Trailing edge.** Each trigger restarts the quiet window; a burst whose
  gaps are all shorter than ``wait`` produces exactly one run, at its last
  trigger + ``wait``.
* **max_wait.** With ``max_wait`` set, a stream that never goes quiet still
  runs at most ``max_wait`` seconds after the first trigger of a batch.
* **Single flight.** At most one run is in flight. Triggers that arrive during
  a run are collected for exactly one follow-up run, which starts as soon as the
  current run ends if its window has already elapsed.
* **Exactly once.** Every triggered item is delivered to exactly one run, or
  counted as ``dropped`` (by ``cancel()``, when its pool refuses the run, or
  when a shutdown drops the run); a batch dropped by a shutdown is named in
  its ``ShutdownReport``.
* **No stuck guard.** The run in flight ends, and the guard with it, whatever
  ``fn`` does and whatever the pool does with the run (runs it, refuses it,
  drops it at a shutdown); its state is in the snapshot.
* **Shutdown.** ``close()`` flushes: if a run is in flight, the flushed batch
  is its follow-up, which a draining pool still accepts, so it runs within
  the drain or is named in the report as dropped.

Runs go to ``pool`` when one is given (the usual case: the rebuild must not run
on the clock's thread) and otherwise run inline on the clock's callback, which
with a ``FakeClock`` means synchronously inside ``advance()``. Inline
follow-ups run in a loop, never by recursion, however many there are.

Only one timer is ever armed. A trigger just moves the due time; when the timer
fires early it re-arms itself for the remainder. A burst of 10,000 triggers
therefore schedules a handful of timers, not 10,000.

Free-threading checklist (what still relies on the GIL): nothing. ``fn``,
``pool``, ``clock`` and ``wait`` are set once in ``__init__`` and only read;
every other attribute is read and written under the debouncer's lock.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from .clock import Clock, Handle, check_seconds
from .errors import PoolClosedError
from .pool import JOIN_GRACE, OwnedTask, WorkerPool, _log, default_clock
from .retry import task_name
from .stats import ErrorRecord, describe, iso

__all__ = ["Debouncer"]

logger = logging.getLogger("dualqueue")


class State(enum.Enum):
    """Where a debouncer is. Two questions: is a run in flight, and is a batch waiting?

    ========================  ==============  ===================================
    state                     run in flight   pending batch
    ========================  ==============  ===================================
    ``IDLE``                  no              none
    ``WAITING``               no              waits for its quiet window (timer)
    ``RUNNING``               yes             none
    ``RUNNING_WAITING``       yes             waits for its quiet window (timer)
    ``RUNNING_DUE``           yes             window elapsed: runs right after
    ``RUNNING_FLUSHED``       yes             flushed: runs right after, no
                                              trigger postpones it
    ========================  ==============  ===================================

    Transitions (every one under the debouncer's lock):

    * ``trigger``: IDLE -> WAITING; RUNNING -> RUNNING_WAITING; RUNNING_DUE ->
      RUNNING_WAITING (the trigger restarts the window); others stay.
    * timer fires, window elapsed: WAITING -> RUNNING (the run starts);
      RUNNING_WAITING -> RUNNING_DUE. Not elapsed: re-armed, state stays.
    * ``flush``: WAITING -> RUNNING (the run starts); RUNNING_WAITING and
      RUNNING_DUE -> RUNNING_FLUSHED.
    * ``cancel``: WAITING -> IDLE; RUNNING_* -> RUNNING (the batch is dropped).
    * the run ends (ran, failed, refused by its pool, or dropped by a
      shutdown): RUNNING -> IDLE; RUNNING_WAITING -> WAITING; RUNNING_DUE and
      RUNNING_FLUSHED -> RUNNING (the follow-up starts).
    * a shutdown's deadline passes during the run: RUNNING_DUE and
      RUNNING_FLUSHED -> RUNNING (the follow-up is dropped and named).
    """

    IDLE = "idle"
    WAITING = "waiting"
    RUNNING = "running"
    RUNNING_WAITING = "running, waiting"
    RUNNING_DUE = "running, follow-up due"
    RUNNING_FLUSHED = "running, follow-up flushed"

    @property
    def running(self) -> bool:
        return self not in (State.IDLE, State.WAITING)

    @property
    def pending(self) -> bool:
        return self not in (State.IDLE, State.RUNNING)

    @property
    def follow_up(self) -> bool:
        return self in (State.RUNNING_DUE, State.RUNNING_FLUSHED)


class Debouncer:
    """Collapse bursts of ``trigger(item)`` calls into single ``fn(batch)`` runs."""

    def __init__(
        self,
        fn: Callable[[list[Any]], object],
        wait: float = 15.0,
        max_wait: float | None = None,
        pool: WorkerPool | None = None,
        clock: Clock | None = None,
        *,
        name: str | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"Debouncer needs a callable, got {type(fn).__name__}")
        wait = check_seconds("wait", wait)
        if max_wait is not None and check_seconds("max_wait", max_wait) < wait:
            raise ValueError(f"max_wait must be >= wait ({wait}), got {max_wait!r}")
        if pool is not None and not isinstance(pool, WorkerPool):
            raise TypeError(
                f"pool must be a WorkerPool or None, got {type(pool).__name__}"
            )
        if name is not None and not (isinstance(name, str) and name):
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self.fn = fn
        self.wait = float(wait)
        self.max_wait = None if max_wait is None else float(max_wait)
        self.pool = pool
        if clock is None:
            clock = pool.clock if pool is not None else default_clock()
        self.clock: Clock = clock
        self.name = name or task_name(fn)
        self._task = _Run(self, f"debouncer {self.name!r}")
        self._reset()
        with _registry_lock:
            _live_debouncers.add(self)

    def _reset(self) -> None:
        # Guards every attribute below. Never held while fn runs or while a
        # run is handed to the pool: user code never runs under this lock. An
        # RLock, so that a signal handler that triggers while this thread is
        # inside trigger() does not deadlock.
        self._lock = threading.RLock()
        self._state = State.IDLE
        self._batch: list[Any] = []  # the pending batch (a trigger may add no item)
        self._first_at: float | None = None  # first trigger of the pending batch
        self._due_at: float | None = None  # when the pending batch runs
        self._timer: Handle | None = None  # at most one armed timer
        self._running_since: float | None = None  # when the run in flight started
        self._in_hand: list[Any] | None = None  # a run's batch on its way to the pool
        self._handed = threading.Condition(self._lock)  # notified when it got there
        self._closed = False
        self.triggers = 0
        self.runs = 0
        self.delivered = 0
        self.failed_runs = 0
        self.dropped = 0
        self._last_run_at: float | None = None
        self._last_error: ErrorRecord | None = None

    def __repr__(self) -> str:
        return f"<Debouncer {self.name} wait={self.wait} max_wait={self.max_wait}>"

    # -- the public calls --------------------------------------------------

    def trigger(self, item: Any = None) -> None:
        """Add ``item`` (unless None) to the pending batch; restart the quiet window."""
        with self._lock:
            if self._closed:
                raise PoolClosedError(
                    f"debouncer {self.name} is closed; trigger refused"
                )
            now = self.clock.now()
            if item is not None:
                self._batch.append(item)
            self.triggers += 1
            state = self._state
            if not state.pending:
                self._first_at = now
            self._due_at = self._next_due(now)
            if state is State.IDLE:
                self._state = State.WAITING
            elif state is State.RUNNING:
                self._state = State.RUNNING_WAITING
            elif state is State.RUNNING_DUE and self._due_at > now:
                # The window had elapsed during a run, but this trigger restarts
                # it: the follow-up waits for quiet like any batch (or max_wait).
                self._state = State.RUNNING_WAITING
            if self._timer is None and self._state is not State.RUNNING_FLUSHED:
                self._timer = self.clock.call_later(
                    max(0.0, self._due_at - now), self._fire
                )

    def _next_due(self, now: float) -> float:
        # Lock held. Trailing edge: quiet for `wait` after this trigger, but
        # never later than max_wait after the batch's first trigger.
        due = now + self.wait
        if self.max_wait is not None:
            assert self._first_at is not None
            due = min(due, self._first_at + self.max_wait)
        return due

    def flush(self) -> bool:
        """Run the pending batch now instead of at the end of its window.

        Returns True if a run was started (or, if one is in flight, queued as
        its follow-up), False if nothing was pending.
        """
        with self._lock:
            state = self._state
            if not state.pending:
                return False
            if state.running:
                self._state = State.RUNNING_FLUSHED
                return True
            batch = self._take()
        self._dispatch(batch)
        return True

    def cancel(self) -> int:
        """Drop the pending batch; return how many items were dropped (and counted)."""
        with self._lock:
            count = len(self._batch) if self._state.pending else 0
            if self._state.pending:
                self._state = State.RUNNING if self._state.running else State.IDLE
                self._clear_pending()
                self.dropped += count
        if count:
            _log(
                logging.WARNING,
                "dualqueue: debouncer %s cancelled with %d item(s) dropped",
                self.name,
                count,
            )
        return count

    def close(self) -> None:
        """Flush what is pending and refuse further triggers (used at shutdown).

        Returns once a run another thread was handing to the pool is in it
        (within ``JOIN_GRACE``), so that the drain which follows finds it.
        """
        self.flush()
        deadline = time.monotonic() + JOIN_GRACE
        with self._lock:
            self._closed = True
            while self._in_hand is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._handed.wait(remaining)

    @property
    def state(self) -> State:
        """The current ``State`` (see its table for what each one means)."""
        with self._lock:
            return self._state

    @property
    def pending(self) -> bool:
        """True while a batch waits for its run (a follow-up of the current run too)."""
        with self._lock:
            return self._state.pending

    @property
    def running(self) -> bool:
        """True while a run is in flight (the single-flight guard is held)."""
        with self._lock:
            return self._state.running

    # -- the machinery -----------------------------------------------------

    def _clear_pending(self) -> list[Any]:
        # Lock held: empty the pending batch and disarm its timer.
        batch, self._batch = self._batch, []
        self._first_at = self._due_at = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return batch

    def _take(self) -> list[Any]:
        # Lock held: hand the pending batch to a run, which starts now. Until
        # the pool has it, it is "in hand": no drain can see it yet.
        self._state = State.RUNNING
        self._running_since = self.clock.now()
        batch = self._clear_pending()
        if self.pool is not None:
            self._in_hand = batch
        return batch

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            state = self._state
            if state not in (State.WAITING, State.RUNNING_WAITING):
                return
            assert self._due_at is not None
            now = self.clock.now()
            if self._due_at > now:  # triggers moved the window: wait for the rest
                self._timer = self.clock.call_later(self._due_at - now, self._fire)
                return
            if state is State.RUNNING_WAITING:
                self._state = State.RUNNING_DUE
                return
            batch = self._take()
        self._dispatch(batch)

    def _dispatch(self, batch: list[Any] | None) -> None:
        # Start a run, then every follow-up: in a loop when they run inline
        # (no pool), one task each when a pool runs them.
        while batch is not None:
            if self.pool is None:
                self._call(batch)
                batch = self._finish(batch, delivered=True)
                continue
            try:
                self.pool.submit(self._task, batch)
            except Exception as exc:  # closed, full, or no thread: counted, never lost
                self._handed_over(batch)
                batch = self._refused(batch, exc)
            else:
                self._handed_over(batch)
                return

    def _handed_over(self, batch: list[Any]) -> None:
        with self._lock:
            if self._in_hand is batch:
                self._in_hand = None
                self._handed.notify_all()

    def _refused(self, batch: list[Any], exc: Exception) -> list[Any] | None:
        error = describe(exc)
        _log(
            logging.ERROR,
            "dualqueue: debouncer %s dropped %d item(s): %s",
            self.name,
            len(batch),
            error[1],
            aside=True,
        )
        with self._lock:
            self._last_error = ErrorRecord(*error, self.clock.now())
        return self._finish(batch, delivered=False)

    def _call(self, batch: list[Any]) -> None:
        # Runs fn: user code, with no lock held. Nothing it raises escapes.
        try:
            self.fn(batch)
        except BaseException as exc:  # the run is over either way
            error = describe(exc)
            with self._lock:
                self.failed_runs += 1
                self._last_error = ErrorRecord(*error, self.clock.now())
            _log(
                logging.ERROR, "dualqueue: debouncer %s run failed", self.name, exc=exc
            )

    def _finish(self, batch: list[Any], *, delivered: bool) -> list[Any] | None:
        # The run is over: count it and release the guard. Returns the
        # follow-up batch if one is due, which starts at once.
        with self._lock:
            if delivered:
                self.runs += 1
                self.delivered += len(batch)
                self._last_run_at = self.clock.now()
            else:
                self.dropped += len(batch)
            self._running_since = None
            state = self._state
            if state.follow_up:
                return self._take()
            self._state = State.WAITING if state.pending else State.IDLE
            return None

    def _drop_follow_up(self) -> tuple[str, ...]:
        # A shutdown's deadline: the follow-up of the run in flight can no
        # longer run. Drop it now, counted, and let the report name it.
        with self._lock:
            if not self._state.follow_up:
                return ()
            count = len(self._clear_pending())
            self.dropped += count
            self._state = State.RUNNING
        _log(
            logging.WARNING,
            "dualqueue: debouncer %s dropped its follow-up of %d item(s) at shutdown",
            self.name,
            count,
            aside=True,
        )
        return (self._task.task_name,)

    # -- the picture -------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """State and counters, read under the lock at once. JSON-serializable."""
        with self._lock:
            now, wall = self.clock.now(), self.clock.wall()

            def shown(t: float | None) -> str | None:
                return None if t is None else iso(wall - (now - t))

            def since(t: float | None) -> float | None:
                return None if t is None else round(max(0.0, t), 6)

            error = self._last_error
            due, started = self._due_at, self._running_since
            return {
                "name": self.name,
                "wait": self.wait,
                "max_wait": self.max_wait,
                "pool": None if self.pool is None else self.pool.name,
                "state": self._state.value,
                "pending": self._state.pending,
                "pending_items": len(self._batch),
                "next_run_in": None if due is None else since(due - now),
                "running": self._state.running,
                "running_seconds": None if started is None else since(now - started),
                "closed": self._closed,
                "triggers": self.triggers,
                "runs": self.runs,
                "delivered": self.delivered,
                "failed_runs": self.failed_runs,
                "dropped": self.dropped,
                "last_run_at": shown(self._last_run_at),
                "last_error": None
                if error is None
                else {
                    "type": error.error_type,
                    "message": error.message,
                    "at": shown(error.at),
                },
            }


class _Run(OwnedTask):
    """What a debouncer hands its pool: its run, named after the debouncer.

    So a batch that is dropped or still running at shutdown is reported as
    ``debouncer 'documents-index'`` rather than as ``Debouncer._run``; and the
    pool tells it when a shutdown drops it or leaves it running, so that the
    debouncer's guard is released and its follow-up is accounted for.
    """

    __slots__ = ("_debouncer",)

    def __init__(self, debouncer: Debouncer, name: str) -> None:
        super().__init__(name)
        self._debouncer = debouncer

    def __call__(self, batch: list[Any]) -> None:
        debouncer = self._debouncer
        debouncer._call(batch)
        debouncer._dispatch(debouncer._finish(batch, delivered=True))

    def dropped(self, args: tuple[Any, ...]) -> tuple[str, ...]:
        debouncer = self._debouncer
        (batch,) = args
        debouncer._handed_over(batch)  # it was in the pool after all
        names = debouncer._drop_follow_up()  # the pool no longer takes one
        debouncer._dispatch(debouncer._finish(batch, delivered=False))
        return names

    def abandoned(self) -> tuple[str, ...]:
        debouncer = self._debouncer
        names = debouncer._drop_follow_up()
        with debouncer._lock:
            if not names and debouncer._in_hand is not None:
                # The run is ending and handing its follow-up to a pool that
                # now refuses it: the refusal counts the items; name it here.
                names = (self.task_name,)
        return names


# Fork: a pending batch belongs to the parent (its run happens there); the
# child starts with empty debouncers and a fresh lock. The registry is
# guarded by _registry_lock and iterated as a copy.
_live_debouncers: weakref.WeakSet[Debouncer] = weakref.WeakSet()
_registry_lock = threading.Lock()


def _reset_debouncers_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()  # another thread may have held it at the fork
    for debouncer in list(_live_debouncers):
        debouncer._reset()


os.register_at_fork(after_in_child=_reset_debouncers_in_child)
