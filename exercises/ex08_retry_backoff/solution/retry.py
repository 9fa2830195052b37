"""Retries with exponential backoff, scheduled through an injected clock.

Exercise 8, solved. ``Retry(clock, attempts=..., base_delay=..., factor=...,
max_delay=...)`` runs a task once, now. When it fails with one of ``retry_on``
and attempts remain, the next attempt is scheduled with ``clock.call_later``
after ``min(max_delay, base_delay * factor ** (failures - 1))`` seconds: nothing
sleeps, so no worker is held while a retry waits. (The reference's ``Retry``
also adds jitter, so that clients that failed together do not retry together.)
"""

from __future__ import annotations

import logging
import math
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
        return min(self.max_delay, self.base_delay * self.factor ** (failures - 1))
    # --8<-- [end:delay]

    # --8<-- [start:run]
    def run(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Call ``fn(*args, **kwargs)`` now; retry it later if it fails. Never raises,
        never waits."""
        self._attempt(fn, args, kwargs, 1)

    def _attempt(
        self,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        attempt: int,
    ) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            if attempt < self.attempts and isinstance(exc, self.retry_on):
                delay = self.delay(attempt)
                logger.warning(
                    "dualqueue: task %s failed (attempt %d, %s); retrying in %.2fs",
                    task_name(fn),
                    attempt,
                    type(exc).__name__,
                    delay,
                )
                # The clock calls the next attempt later; this thread is free at once.
                self.clock.call_later(
                    delay, lambda: self._attempt(fn, args, kwargs, attempt + 1)
                )
            else:
                self._give_up(fn, attempt, exc)
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
