"""A trailing-edge debouncer: a burst of triggers, one run with every item of the burst.

Exercise 7, solved. Each ``trigger(item)`` restarts the quiet window, but never
beyond ``max_wait`` seconds after the batch's first trigger: a stream that never
goes quiet still runs at least every ``max_wait`` seconds, and no item waits
longer than that for its run.

Time is injected: the debouncer reads ``clock.now()`` and schedules with
``clock.call_later(delay, fn)``, so the checks drive it with a ``FakeClock``.
Runs happen inline, on the clock's callback.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from dualqueue import Clock, Handle, SystemClock


def _seconds(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (value >= 0 and math.isfinite(value))
    ):
        raise ValueError(
            f"{name} must be a finite number of seconds >= 0, got {value!r}"
        )
    return float(value)


class Debouncer:
    """Collapse bursts of ``trigger(item)`` into single ``fn(batch)`` runs."""

    # --8<-- [start:init]
    def __init__(
        self,
        fn: Callable[[list[Any]], object],
        wait: float = 15.0,
        max_wait: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.fn = fn
        self.wait = _seconds("wait", wait)
        self.max_wait = None if max_wait is None else _seconds("max_wait", max_wait)
        if self.max_wait is not None and self.max_wait < self.wait:
            raise ValueError(
                f"max_wait must be >= wait ({self.wait}), got {max_wait!r}"
            )
        self.clock: Clock = clock if clock is not None else SystemClock()
        # Guards _batch, _timer and _first_at. Never held while fn runs.
        self._lock = threading.Lock()
        self._batch: list[Any] = []
        self._timer: Handle | None = None
        # when the pending batch's first trigger came; None if nothing pending
        self._first_at: float | None = None
    # --8<-- [end:init]

    # --8<-- [start:trigger]
    def trigger(self, item: Any = None) -> None:
        """Add ``item`` (unless None) to the pending batch and restart the quiet
        window."""
        with self._lock:
            now = self.clock.now()
            if item is not None:
                self._batch.append(item)
            if self._first_at is None:
                self._first_at = now
            if self._timer is not None:
                self._timer.cancel()
            # Trailing edge: quiet for `wait` after this trigger, but never later
            # than max_wait after the batch's first trigger.
            due = now + self.wait
            if self.max_wait is not None:
                due = min(due, self._first_at + self.max_wait)
            # The deadline may already be past: the clock's thread can be late to run
            # the batch (a slow callback before it). Then the batch is overdue: run it
            # at once.
            self._timer = self.clock.call_later(max(0.0, due - now), self._fire)
    # --8<-- [end:trigger]

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            batch, self._batch = self._batch, []
            self._first_at = None
        self.fn(batch)

    @property
    def pending(self) -> bool:
        """True while a batch waits for its run."""
        with self._lock:
            return self._first_at is not None
