"""The bug before the fix: the debouncer everybody writes first, with a Timer.

Each trigger cancels the previous timer and starts a new one; when a timer
fires, the batch is handed to ``fn``. It reads correctly and it is wrong in
four ways, each shown by the chapter's tests or demo:

* **A thread per trigger.** ``threading.Timer`` is a thread: a burst of 500
  uploads starts 500 threads, 499 of which only wait to be cancelled.
* **Runs overlap.** ``fn`` runs on the timer's thread. A rebuild that takes
  longer than ``wait`` is still running when the next burst's timer fires,
  and two rebuilds of the same index run at once.
* **It never settles under a steady stream.** An upload every 10 seconds
  against a 15-second window postpones the rebuild forever: there is no
  ``max_wait``.
* **Time cannot be injected.** The window is real seconds on a real thread:
  a test must sleep through it, and ``freezegun`` or ``time-machine`` cannot
  make a ``threading.Timer`` fire early.

Never use this; it exists to be shown failing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from threading import Timer
from typing import Any

__all__ = ["TimerDebouncer"]


# --8<-- [start:timer-debouncer]
class TimerDebouncer:
    """Run ``fn(batch)`` once ``wait`` seconds pass without a trigger.

    By restarting a ``threading.Timer`` on every trigger.
    """

    def __init__(self, fn: Callable[[list[Any]], object], wait: float = 15.0) -> None:
        self.fn = fn
        self.wait = wait
        self._lock = threading.Lock()
        self._batch: list[Any] = []
        self._timer: Timer | None = None

    def trigger(self, item: Any = None) -> None:
        with self._lock:
            if item is not None:
                self._batch.append(item)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = Timer(self.wait, self._fire)  # a new thread, every time
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            batch, self._batch = self._batch, []
            self._timer = None
        self.fn(
            batch
        )  # on the timer's thread, whether or not the last run has finished


# --8<-- [end:timer-debouncer]
