"""The bug before the fix: counting a finished task without the pool's mutex.

"Incrementing an int is atomic in Python" is the belief this class encodes, and
it is false: ``self._stats.succeeded += 1`` is a read, an add and a write, three
bytecode instructions, and a thread can be switched out between the read and the
write. Two workers finishing at once can then both read 5 and both write 6: one
task is never counted. A snapshot taken between ``running -= 1`` and
``succeeded += 1`` sees a task that is neither running nor finished.

On CPython 3.11 a stress test almost never shows it (the interpreter switches
threads only at certain instructions, and these are rarely among them), which
is exactly why it survives code review. ``interleave.py`` shows it every time.
Never use this; it exists to be shown failing.
"""

from __future__ import annotations

import logging
import time

from .pool import WorkerPool, _Item, task_name
from .stats import ErrorRecord

__all__ = ["NaiveStatsPool"]

logger = logging.getLogger("dualqueue")


class NaiveStatsPool(WorkerPool):
    """``WorkerPool`` whose workers count finished tasks without holding the mutex."""

    # --8<-- [start:naive-count]
    def _task_succeeded(self, slot: int) -> None:
        self._current[slot] = None
        self._stats.running -= 1  # "just an int": no lock
        self._stats.succeeded += 1
        self._stats.last_finished_at = time.monotonic()
        with self._mutex:  # the condition still needs it, so the lock is right there
            self._notify_if_idle()
            # --8<-- [end:naive-count]

    def _task_failed(self, slot: int, item: _Item, exc: BaseException) -> None:
        now = time.monotonic()
        self._current[slot] = None
        self._stats.running -= 1
        self._stats.failed += 1
        self._stats.last_finished_at = now
        self._stats.last_error = ErrorRecord.of(exc, now)
        with self._mutex:
            self._notify_if_idle()
        logger.error(
            "dualqueue: task %s failed in pool %r",
            task_name(item[0]),
            self.name,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
