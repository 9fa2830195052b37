"""Time, injected: the one place dualqueue reads the time or waits for it.

Everything that waits (the debouncer's quiet window, a retry's backoff) asks a
``Clock`` for ``now()`` and schedules with ``call_later(delay, fn)``. Production
code uses ``SystemClock``; tests use ``FakeClock`` and move time by hand, so no
test ever sleeps through a window and none depends on the machine's speed.

Guarantees:

* ``SystemClock`` runs every callback on one daemon thread per clock, in due
  order (ties in scheduling order). A callback that raises anything
  (``SystemExit`` included) is logged and does not stop the clock; if the
  thread is gone anyway, the next ``call_later`` starts a new one. Callbacks
  should be short: a slow one delays the others.
* Every delay is a finite number of seconds >= 0, checked at the caller.
* A cancelled call leaves the schedule: memory stays bounded by the calls
  still waiting, however often a timer is re-armed.

Free-threading checklist (what still relies on the GIL):

* ``Handle.cancelled`` is a plain bool written by ``cancel()`` without the
  clock's lock and read by the clock's thread; a torn read is impossible for
  one object reference, and a late read only runs a call cancelled a moment
  too late, which ``cancel()`` documents ("if it has not started yet").
* ``FakeClock.now()`` reads one float attribute without the lock.
* ``FakeClock.advance(seconds)`` runs, synchronously in the caller's thread and
  in due order, every callback that falls due within the step, including
  callbacks scheduled by those callbacks; ``now()`` reads each callback's due
  time while it runs.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "Clock",
    "FakeClock",
    "Handle",
    "SystemClock",
    "check_seconds",
    "check_timeout",
]

logger = logging.getLogger("dualqueue")


class Handle:
    """A scheduled call. ``cancel()`` stops it if it has not started yet."""

    __slots__ = ("_timeline", "cancelled", "fn", "when")

    def __init__(self, when: float, fn: Callable[[], object]) -> None:
        self.when = when
        self.fn = fn
        self.cancelled = False
        self._timeline: _Timeline | None = None  # set while the handle waits in one

    def cancel(self) -> None:
        """Prevent the call. Harmless if it already ran or was cancelled."""
        if self.cancelled:
            return
        self.cancelled = True
        timeline = self._timeline
        if timeline is not None:
            timeline.discard(self)


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
        """Run ``fn()`` once, ``delay`` seconds from now; return a handle to cancel."""
        ...


def check_seconds(name: str, value: object) -> float:
    """``value`` as a finite number of seconds >= 0, or ``ValueError`` naming it.

    Every delay and timeout passes through here at the caller: a NaN, an
    infinity, a bool or a string would otherwise fail far away, on another
    thread (``Condition.wait(inf)`` raises ``OverflowError``) or never.
    """
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError
        seconds = float(value)  # an int beyond a float's range raises OverflowError
    except (TypeError, OverflowError):
        seconds = math.nan
    if not 0 <= seconds < math.inf:  # also refuses NaN
        raise ValueError(
            f"{name} must be a finite number of seconds >= 0, got {value!r}"
        )
    return seconds


def check_timeout(name: str, value: object) -> float | None:
    """``check_seconds``, where None (wait as long as it takes) is allowed too."""
    return None if value is None else check_seconds(name, value)


def bounded_wait(seconds: float | None) -> float | None:
    """``seconds`` cut to what ``Lock.acquire`` accepts (days, not centuries)."""
    return None if seconds is None else min(seconds, threading.TIMEOUT_MAX)


class _Timeline:
    """A heap of handles in due order; ties keep scheduling order.

    Guarded by the owning clock's lock, which it is given. A cancelled handle
    stays in the heap until it reaches the top (lazy deletion), but once
    cancelled entries outnumber live ones the heap is rebuilt without them,
    so a debouncer that re-arms its timer forever keeps memory bounded.
    """

    COMPACT_MIN = 64  # below this many cancelled entries, compacting is not worth it

    def __init__(self, lock: threading.Lock | threading.RLock) -> None:
        self._lock = lock
        self._heap: list[tuple[float, int, Handle]] = []
        self._seq = itertools.count()
        self._cancelled = 0  # cancelled handles still in _heap

    def push(self, handle: Handle) -> None:
        # Lock held.
        handle._timeline = self
        heapq.heappush(self._heap, (handle.when, next(self._seq), handle))

    def discard(self, handle: Handle) -> None:
        # Called by Handle.cancel, from any thread, without the lock.
        with self._lock:
            if handle._timeline is not self:  # already ran, or popped
                return
            self._cancelled += 1
            if self._cancelled >= self.COMPACT_MIN and 2 * self._cancelled > len(
                self._heap
            ):
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def next_due(self) -> float | None:
        # Lock held.
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)[2]._timeline = None
            self._cancelled -= 1
        return self._heap[0][0] if self._heap else None

    def pop(self) -> Handle:
        # Lock held; after next_due() returned a time.
        handle = heapq.heappop(self._heap)[2]
        handle._timeline = None
        return handle

    @property
    def entries(self) -> int:
        """Entries in the heap, cancelled ones included (what memory holds)."""
        return len(self._heap)

    def __len__(self) -> int:
        return len(self._heap) - self._cancelled


def _run_callback(handle: Handle) -> None:
    try:
        handle.fn()
    except BaseException:  # SystemExit too: one callback must not stop every other
        with contextlib.suppress(BaseException):  # a log handler is user code too
            logger.exception(
                "dualqueue: a scheduled callback raised; the clock goes on"
            )


class SystemClock:
    """Real time: ``time.monotonic`` and one scheduler thread, started lazily.

    Creating a ``SystemClock`` starts no thread; the first ``call_later`` does.
    The thread holds only a weak reference to its clock: a clock nobody
    references lets its thread end once nothing is scheduled. After
    ``os.fork()`` the child's clock forgets the parent's schedule (those
    callbacks belong to the parent's tasks) and starts a thread of its own on
    its next ``call_later``.
    """

    def __init__(self) -> None:
        self._reset()
        with _registry_lock:
            _live_clocks.add(self)

    def _reset(self) -> None:
        # Guards _timeline and _thread. The scheduler thread waits on it until
        # the earliest handle falls due or a new, earlier one is pushed. An
        # RLock: a signal handler (or a garbage collection) that schedules a
        # call while this thread is inside call_later must not deadlock it.
        lock = threading.RLock()
        self._changed = threading.Condition(lock)
        self._timeline = _Timeline(lock)
        self._thread: threading.Thread | None = None
        # Wakes the thread when this clock is collected, so it can end; a new
        # weakref (and callback) per reset, so a forked child never runs the
        # parent's callback on a lock the parent's threads may have held.
        self._self_ref = weakref.ref(self, _waker(self._changed))

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def wall(self) -> float:
        """``time.time()``."""
        return time.time()

    def call_later(self, delay: float, fn: Callable[[], object]) -> Handle:
        """Run ``fn()`` on the clock's thread once ``delay`` seconds have passed.

        ``delay`` must be a finite number >= 0. Raises ``RuntimeError`` if the
        clock's thread cannot be started (at interpreter exit on some Pythons);
        then nothing was scheduled.
        """
        delay = check_seconds("delay", delay)
        handle = Handle(time.monotonic() + delay, fn)
        with self._changed:
            if self._thread is None or not self._thread.is_alive():
                thread = threading.Thread(
                    target=_tick,
                    args=(self._self_ref, self._changed, self._timeline),
                    name="dualqueue-clock",
                    daemon=True,
                )
                thread.start()  # raises before anything is scheduled
                self._thread = thread
            self._timeline.push(handle)
            self._changed.notify()
        return handle


def _waker(changed: threading.Condition) -> Callable[[object], None]:
    def wake(_: object) -> None:
        with changed:
            changed.notify_all()

    return wake


def _tick(
    clock_ref: weakref.ref[SystemClock],
    changed: threading.Condition,
    timeline: _Timeline,
) -> None:
    # The clock's thread. It holds the clock only weakly: once the clock is
    # gone and nothing is left to run, the thread ends.
    while True:
        with changed:
            while True:
                due = timeline.next_due()
                if due is None:
                    if clock_ref() is None:
                        return
                    changed.wait()
                    continue
                remaining = due - time.monotonic()
                if remaining <= 0:
                    break
                changed.wait(bounded_wait(remaining))
            handle = timeline.pop()
        # Outside the lock: a callback may schedule another call.
        if not handle.cancelled:
            _run_callback(handle)
        del handle


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

    def __init__(
        self, start: float = 0.0, *, wall_start: float = 1_700_000_000.0
    ) -> None:
        self._now = float(start)
        self._wall_offset = wall_start - self._now
        # Guards _now and _timeline; never held while a callback runs, so a
        # callback (or a worker thread) may call call_later freely.
        self._lock = threading.RLock()
        self._timeline = _Timeline(self._lock)

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
        """Schedule ``fn()``; it runs inside the ``advance`` that reaches its time."""
        delay = check_seconds("delay", delay)
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
        seconds = check_seconds("seconds", seconds)
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
# The registry is guarded by _registry_lock (a clock may be created on any
# thread while the fork handler walks it); it is iterated as a copy.
_live_clocks: weakref.WeakSet[SystemClock] = weakref.WeakSet()
_registry_lock = threading.Lock()


def _reset_clocks_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()  # another thread may have held it at the fork
    for clock in list(_live_clocks):
        clock._reset()


os.register_at_fork(after_in_child=_reset_clocks_in_child)
