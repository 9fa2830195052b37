"""Retries with exponential backoff, scheduled through an injected clock.

Exercise 8. ``Retry(clock, attempts=..., base_delay=..., factor=..., max_delay=...)``
runs a task and, when it fails with one of ``retry_on``, tries again later. The
starter waits with ``time.sleep`` between attempts, on the thread that ran the
task (a worker, in a pool), with a delay that never grows. Make the delays grow
exponentially, capped, and schedule each retry with ``clock.call_later`` instead
of sleeping (see README.md).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dualqueue import Clock

logger = logging.getLogger("dualqueue")


@dataclass(frozen=True)
class GaveUp:
    """A task that failed for the last time: its name, how many attempts it had, and its
    last error's type."""

    task: str
    attempts: int
    error: str


def task_name(fn: Callable[..., object]) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__qualname__


class Retry:
    """Run tasks with bounded attempts and exponential backoff; failures that give up
    become dead letters."""

    def __init__(
        self,
        clock: Clock,
        *,
        attempts: int = 3,
        base_delay: float = 1.0,
        factor: float = 2.0,
        max_delay: float = 60.0,
        retry_on: tuple[type[BaseException], ...] = (Exception,),
    ) -> None:
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"attempts must be an int >= 1, got {attempts!r}")
        if not (
            base_delay >= 0
            and max_delay >= 0
            and math.isfinite(base_delay)
            and math.isfinite(max_delay)
        ):
            raise ValueError(
                f"delays must be finite numbers >= 0, got {base_delay!r} and "
                f"{max_delay!r}"
            )
        if not (factor >= 1 and math.isfinite(factor)):
            raise ValueError(f"factor must be a finite number >= 1, got {factor!r}")
        self.clock = clock
        self.attempts = attempts
        self.base_delay = base_delay
        self.factor = factor
        self.max_delay = max_delay
        self.retry_on = retry_on
        self.dead_letters: list[GaveUp] = []

    # --8<-- [start:delay]
    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed attempts (``failures >= 1``)."""
        # TODO: base_delay after the first failure, times factor after each further one,
        # never above max_delay.
        return self.base_delay
    # --8<-- [end:delay]

    # --8<-- [start:run]
    def run(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Call ``fn(*args, **kwargs)`` now; retry it later if it fails. Never raises,
        never waits."""
        # TODO: this loop holds the calling thread for every delay. Make one attempt
        # here, and let the clock call the next attempt later (clock.call_later(delay,
        # ...)).
        for attempt in range(1, self.attempts + 1):
            try:
                fn(*args, **kwargs)
                return
            except Exception as exc:
                if attempt == self.attempts or not isinstance(exc, self.retry_on):
                    self._give_up(fn, attempt, exc)
                    return
                time.sleep(self.delay(attempt))
    # --8<-- [end:run]

    def _give_up(
        self, fn: Callable[..., object], attempts: int, exc: Exception
    ) -> None:
        self.dead_letters.append(GaveUp(task_name(fn), attempts, type(exc).__name__))
        logger.error(
            "dualqueue: task %s failed after %d attempt(s)",
            task_name(fn),
            attempts,
            exc_info=exc,
        )
