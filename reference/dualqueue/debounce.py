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
  counted as ``dropped`` (by ``cancel()``, or when its pool refuses the run).
* **No stuck guard.** The "running" guard is released in ``finally``, whatever
  ``fn`` does; its state is in the snapshot.

Runs go to ``pool`` when one is given (the usual case: the rebuild must not run
on the clock's thread) and otherwise run inline on the clock's callback, which
with a ``FakeClock`` means synchronously inside ``advance()``.

Only one timer is ever armed. A trigger just moves the due time; when the timer
fires early it re-arms itself for the remainder. A burst of 10,000 triggers
therefore schedules a handful of timers, not 10,000.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from .clock import Clock, Handle
from .errors import PoolClosedError, QueueFullError
from .pool import WorkerPool, default_clock
from .retry import task_name
from .stats import ErrorRecord, iso

__all__ = ["Debouncer"]

logger = logging.getLogger("dualqueue")


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
        if not (isinstance(wait, (int, float)) and wait >= 0 and math.isfinite(wait)):
            raise ValueError(f"wait must be a finite number of seconds >= 0, got {wait!r}")
        if max_wait is not None and not (
            isinstance(max_wait, (int, float)) and max_wait >= wait and math.isfinite(max_wait)
        ):
            raise ValueError(f"max_wait must be a finite number >= wait ({wait}), got {max_wait!r}")
        if pool is not None and not isinstance(pool, WorkerPool):
            raise TypeError(f"pool must be a WorkerPool or None, got {type(pool).__name__}")
        self.fn = fn
        self.wait = float(wait)
        self.max_wait = None if max_wait is None else float(max_wait)
        self.pool = pool
        self.clock: Clock = clock if clock is not None else (pool.clock if pool else default_clock())
        self.name = name or task_name(fn)
        self._task = _Run(self._run, f"debouncer {self.name!r}")
        self._reset()
        _live_debouncers.add(self)

    def _reset(self) -> None:
        # Guards every attribute below. Never held while fn runs or while a
        # run is handed to the pool: user code never runs under this lock.
        self._lock = threading.Lock()
        self._batch: list[Any] = []
        self._pending = False  # a trigger is waiting for its run (the batch may be empty)
        self._first_at: float | None = None  # first trigger of the pending batch
        self._due_at: float | None = None  # when the pending batch runs
        self._timer: Handle | None = None  # at most one armed timer
        self._running_since: float | None = None  # the single-flight guard
        self._follow_up = False  # the batch fell due during a run: run it right after
        self._flushed = False  # the follow-up was asked for by flush(): no trigger postpones it
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
        """Add ``item`` (unless None) to the pending batch and restart the quiet window."""
        with self._lock:
            if self._closed:
                raise PoolClosedError(f"debouncer {self.name} is closed; trigger refused")
            now = self.clock.now()
            if item is not None:
                self._batch.append(item)
            self.triggers += 1
            if not self._pending:
                self._pending = True
                self._first_at = now
            self._due_at = self._next_due(now)
            if self._follow_up and not self._flushed and self._due_at > now:
                # The window had elapsed during a run, but this trigger restarts it:
                # the follow-up waits for quiet like any batch (or for max_wait).
                self._follow_up = False
            if self._timer is None:
                self._timer = self.clock.call_later(max(0.0, self._due_at - now), self._fire)

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
            if not self._pending:
                return False
            if self._running_since is not None:
                self._follow_up = self._flushed = True
                return True
            batch = self._take()
        self._dispatch(batch)
        return True

    def cancel(self) -> int:
        """Drop the pending batch; return how many items were dropped (and counted)."""
        with self._lock:
            count = len(self._batch)
            self._batch = []
            self._pending = self._follow_up = self._flushed = False
            self._first_at = self._due_at = None
            self.dropped += count
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if count:
            logger.warning("dualqueue: debouncer %s cancelled with %d item(s) dropped", self.name, count)
        return count

    def close(self) -> None:
        """Flush what is pending and refuse further triggers (used at shutdown)."""
        self.flush()
        with self._lock:
            self._closed = True

    @property
    def pending(self) -> bool:
        """True while a batch waits for its run (including a follow-up after the current run)."""
        with self._lock:
            return self._pending

    @property
    def running(self) -> bool:
        """True while a run is in flight (the single-flight guard is held)."""
        with self._lock:
            return self._running_since is not None

    # -- the machinery -----------------------------------------------------

    def _take(self) -> list[Any]:
        # Lock held: hand the pending batch to a run and take the guard.
        batch, self._batch = self._batch, []
        self._pending = self._follow_up = self._flushed = False
        self._first_at = self._due_at = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._running_since = self.clock.now()
        return batch

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            if not self._pending:
                return
            assert self._due_at is not None
            now = self.clock.now()
            if self._due_at > now:  # triggers moved the window: wait for the rest
                self._timer = self.clock.call_later(self._due_at - now, self._fire)
                return
            if self._running_since is not None:
                self._follow_up = True
                return
            batch = self._take()
        self._dispatch(batch)

    def _dispatch(self, batch: list[Any]) -> None:
        if self.pool is None:
            self._run(batch)
            return
        try:
            self.pool.submit(self._task, batch)
        except (PoolClosedError, QueueFullError) as exc:
            with self._lock:
                self.dropped += len(batch)
                self._last_error = ErrorRecord.of(exc, self.clock.now())
                self._running_since = None
            logger.error("dualqueue: debouncer %s dropped %d item(s): %s", self.name, len(batch), exc)

    def _run(self, batch: list[Any]) -> None:
        try:
            self.fn(batch)
        except BaseException as exc:  # the run is over either way; the guard must go
            with self._lock:
                self.failed_runs += 1
                self._last_error = ErrorRecord.of(exc, self.clock.now())
            logger.error("dualqueue: debouncer %s run failed", self.name, exc_info=exc)
        finally:
            with self._lock:
                self.runs += 1
                self.delivered += len(batch)
                self._last_run_at = self.clock.now()
                self._running_since = None
                follow_up = self._pending and self._follow_up
                next_batch = self._take() if follow_up else None
        if next_batch is not None:
            self._dispatch(next_batch)

    # -- the picture -------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """State and counters, read under the lock at once. JSON-serializable."""
        with self._lock:
            now, wall = self.clock.now(), self.clock.wall()

            def shown(t: float | None) -> str | None:
                return None if t is None else iso(wall - (now - t))

            error = self._last_error
            return {
                "name": self.name,
                "wait": self.wait,
                "max_wait": self.max_wait,
                "pool": None if self.pool is None else self.pool.name,
                "pending": self._pending,
                "pending_items": len(self._batch),
                "next_run_in": None if self._due_at is None else round(max(0.0, self._due_at - now), 6),
                "running": self._running_since is not None,
                "running_seconds": None if self._running_since is None else round(now - self._running_since, 6),
                "closed": self._closed,
                "triggers": self.triggers,
                "runs": self.runs,
                "delivered": self.delivered,
                "failed_runs": self.failed_runs,
                "dropped": self.dropped,
                "last_run_at": shown(self._last_run_at),
                "last_error": None
                if error is None
                else {"type": error.error_type, "message": error.message, "at": shown(error.at)},
            }


class _Run:
    """What a debouncer hands its pool: its run, named after the debouncer.

    So a batch that is dropped or still running at shutdown is reported as
    ``debouncer 'documents-index'`` rather than as ``Debouncer._run``.
    """

    __slots__ = ("_run", "task_name")

    def __init__(self, run: Callable[[list[Any]], None], name: str) -> None:
        self._run = run
        self.task_name = name

    def __call__(self, batch: list[Any]) -> None:
        self._run(batch)


# Fork: a pending batch belongs to the parent (its run happens there); the
# child starts with empty debouncers and a fresh lock.
_live_debouncers: weakref.WeakSet[Debouncer] = weakref.WeakSet()


def _reset_debouncers_in_child() -> None:
    for debouncer in list(_live_debouncers):
        debouncer._reset()


os.register_at_fork(after_in_child=_reset_debouncers_in_child)
