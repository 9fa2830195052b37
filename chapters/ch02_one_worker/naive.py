"""The bug before the fix: the worker loop everybody writes first, which dies on the
first exception.

An exception that escapes ``_work`` ends the thread. ``threading.excepthook``
prints it to stderr, once, and then nothing: later tasks queue up forever,
``task_done`` is never called for the task that raised, so ``join()`` blocks
forever too. Never use this; it exists to be shown failing.
"""

from __future__ import annotations

from .worker import Worker

__all__ = ["NaiveWorker"]


class NaiveWorker(Worker):
    """``Worker`` with the naive loop: no ``try`` around the task."""

    # --8<-- [start:naive-work]
    def _work(self) -> None:
        while True:
            fn, args, kwargs = self._queue.get()
            fn(*args, **kwargs)  # an exception here ends the thread
            self._queue.task_done()
            # --8<-- [end:naive-work]
