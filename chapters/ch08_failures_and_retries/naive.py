"""The bugs before the fixes: a loop that catches ``Exception``, a retry that sleeps.

``ExceptionOnlyPool`` catches what most code catches, ``Exception``. A task that
raises ``SystemExit`` (``sys.exit()`` in a library, ``argparse`` rejecting its
arguments, a CLI entry point reused as a task) ends the worker thread, and it
ends it in silence: ``threading.excepthook`` ignores ``SystemExit`` by design.
The task is never counted as finished, so ``running`` stays up forever,
``join()`` never returns, and the tasks behind it are never run.

``InPlaceRetry`` is the retry everybody writes first: a loop around the call
that sleeps between attempts. The sleep happens on the worker thread, so a
task waiting thirty seconds to try again holds one of the pool's workers for
thirty seconds. Two failing emails on a two-worker pool stop every other email.

Never use these; they exist to be shown failing.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .clock import Clock
from .pool import WorkerPool, default_clock
from .retry import Retry

__all__ = ["ExceptionOnlyPool", "InPlaceRetry"]


class ExceptionOnlyPool(WorkerPool):
    """A ``WorkerPool`` whose worker catches ``Exception``, not ``BaseException``."""

    # --8<-- [start:exception-only]
    def _work(self, slot: int) -> None:
        while True:
            with self._not_empty:
                while not self._queue:
                    self._not_empty.wait()
                item = self._queue.popleft()
                self._stats.running += 1
                self._current[slot] = (item, self._now())
            try:
                item[0](*item[1], **item[2])
            # "catch everything": not SystemExit, not KeyboardInterrupt
            except Exception as exc:
                self._task_failed(slot, item, exc)
            else:
                self._task_succeeded(slot)

    # --8<-- [end:exception-only]


# --8<-- [start:in-place-retry]
@dataclass(frozen=True)
class InPlaceRetry(Retry):
    """The same policy, applied by a loop inside the task.

    The backoff is spent holding the worker.
    """

    # Where the sleep happens; the process's SystemClock by default.
    clock: Clock | None = None

    def __call__(  # type: ignore[override]
        self, fn: Callable[..., Any]
    ) -> Callable[..., Any]:
        clock = self.clock if self.clock is not None else default_clock()

        @functools.wraps(fn)
        def with_retries(*args: Any, **kwargs: Any) -> Any:
            failures = 0
            while True:
                try:
                    return fn(*args, **kwargs)
                except BaseException as exc:
                    failures += 1
                    if not self.should_retry(exc, failures):
                        raise
                    woke = threading.Event()
                    clock.call_later(self.delay(failures), woke.set)
                    woke.wait()  # asleep on the worker thread for the whole backoff

        return with_retries


# --8<-- [end:in-place-retry]
