"""Time, injected: the one place dualqueue reads the time or waits for it.

Everything that waits (the debouncer's quiet window, a retry's backoff) asks a
``Clock`` for ``now()`` and schedules with ``call_later(delay, fn)``. Production
code uses ``SystemClock``; tests use ``FakeClock`` and move time by hand, so no
test ever sleeps through a window and none depends on the machine's speed.

Guarantees:

* ``SystemClock`` runs every callback on one daemon thread per clock, in due
  order (ties in scheduling order). A callback that raises is logged and does
  not stop the clock. Callbacks should be short: a slow one delays the others.
* ``FakeClock.advance(seconds)`` runs, synchronously in the caller's thread and
  in due order, every callback that falls due within the step, including
  callbacks scheduled by those callbacks; ``now()`` reads each callback's due
  time while it runs.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "FakeClock", "Handle", "SystemClock"]

logger = logging.getLogger("dualqueue")


class Handle:
    """A scheduled call. ``cancel()`` stops it if it has not started yet."""

    __slots__ = ("cancelled", "fn", "when")

    def __init__(self, when: float, fn: Callable[[], object]) -> None:
        self.when = when
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        """Prevent the call. Harmless if it already ran or was cancelled."""
        self.cancelled = True


class Clock(Protocol):
    """What dualqueue needs from time."""

    def now(self) -> float:
        """Monotonic seconds: only differences between two readings mean anything."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch, for timestamps shown to people.

        Must not wait for a lock another thread may hold: a forked child reads
        it while the parent's threads, gone in the child, may have held one.
        """
        ...

    def call_later(self, delay: float, fn: Callable[[], object]) -> Handle:
        """Run ``fn()`` once, ``delay`` seconds from now; return a cancellable handle."""
        ...


def _check_delay(delay: float) -> None:
    if not delay >= 0:  # also rejects NaN
        raise ValueError(f"delay must be a number >= 0, got {delay!r}")


class _Timeline:
    """A heap of handles in due order; ties keep scheduling order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Handle]] = []
        self._seq = itertools.count()

    def push(self, handle: Handle) -> None:
        heapq.heappush(self._heap, (handle.when, next(self._seq), handle))

    def next_due(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def pop(self) -> Handle:
        return heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        return sum(1 for _, _, h in self._heap if not h.cancelled)


def _run_callback(handle: Handle) -> None:
    try:
        handle.fn()
    except Exception:
        logger.exception("dualqueue: a scheduled callback raised; the clock goes on")


class SystemClock:
    """Real time: ``time.monotonic`` and one scheduler thread, started lazily.

    Creating a ``SystemClock`` starts no thread; the first ``call_later`` does.
    After ``os.fork()`` the child's clock forgets the parent's schedule (those
    callbacks belong to the parent's tasks) and starts a thread of its own on
    its next ``call_later``.
    """

    def __init__(self) -> None:
        self._reset()
        _live_clocks.add(self)

    def _reset(self) -> None:
        # Guards _timeline and _thread. The scheduler thread waits on it until
        # the earliest handle falls due or a new, earlier one is pushed.
        self._changed = threading.Condition(threading.Lock())
        self._timeline = _Timeline()
        self._thread: threading.Thread | None = None

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def wall(self) -> float:
        """``time.time()``."""
        return time.time()

    def call_later(self, delay: float, fn: Callable[[], object]) -> Handle:
        """Run ``fn()`` on the clock's thread once ``delay`` seconds have passed."""
        _check_delay(delay)
        handle = Handle(time.monotonic() + delay, fn)
        with self._changed:
            self._timeline.push(handle)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="dualqueue-clock", daemon=True
                )
                self._thread.start()
            self._changed.notify()
        return handle

    def _run(self) -> None:
        while True:
            with self._changed:
                while True:
                    due = self._timeline.next_due()
                    if due is None:
                        self._changed.wait()
                        continue
                    remaining = due - time.monotonic()
                    if remaining <= 0:
                        break
                    self._changed.wait(remaining)
                handle = self._timeline.pop()
            # Outside the lock: a callback may schedule another call.
            if not handle.cancelled:
                _run_callback(handle)


class FakeClock:
    """Time that moves only when a test says so.

    >>> clock = FakeClock()
    >>> fired = []
    >>> _ = clock.call_later(5, lambda: fired.append(clock.now()))
    >>> clock.advance(4.9); fired
    []
    >>> clock.advance(0.1); fired
    [5.0]
    """

    def __init__(self, start: float = 0.0, *, wall_start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._wall_offset = wall_start - self._now
        # Guards _now and _timeline; never held while a callback runs, so a
        # callback (or a worker thread) may call call_later freely.
        self._lock = threading.RLock()
        self._timeline = _Timeline()

    # Readings take no lock: _now is one float, replaced whole by advance(), so
    # a reading is never torn; and a forked child may read a clock whose lock a
    # parent thread held at the fork.
    def now(self) -> float:
        """The fake monotonic time: ``start`` plus every ``advance`` so far."""
        return self._now

    def wall(self) -> float:
        """``wall_start`` plus the same advances."""
        return self._now + self._wall_offset

    def call_later(self, delay: float, fn: Callable[[], object]) -> Handle:
        """Schedule ``fn()``; it runs inside the ``advance`` call that reaches its time."""
        _check_delay(delay)
        with self._lock:
            handle = Handle(self._now + delay, fn)
            self._timeline.push(handle)
        return handle

    @property
    def scheduled(self) -> int:
        """How many calls are waiting (cancelled ones excluded)."""
        with self._lock:
            return len(self._timeline)

    def next_due(self) -> float | None:
        """When the next call falls due, or None if nothing is scheduled."""
        with self._lock:
            return self._timeline.next_due()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, running every call that falls due."""
        _check_delay(seconds)
        with self._lock:
            target = self._now + seconds
        while True:
            with self._lock:
                due = self._timeline.next_due()
                if due is None or due > target:
                    self._now = target
                    return
                handle = self._timeline.pop()
                self._now = max(self._now, handle.when)
            _run_callback(handle)


# Fork: a clock's thread does not survive fork(), and its lock may have been
# held by that thread at the moment of the fork. The child rebuilds both.
_live_clocks: weakref.WeakSet[SystemClock] = weakref.WeakSet()


def _reset_clocks_in_child() -> None:
    for clock in list(_live_clocks):
        clock._reset()


os.register_at_fork(after_in_child=_reset_clocks_in_child)
