"""What the exercises' tests share: failure messages that teach, gates for blocking tasks, bounded waits.

``explain(expected=..., got=..., usually=...)`` is the shape of every assertion
message in the exercises: what the test expected, what happened instead, and
what that usually means in the code. A learner reads it before the traceback.

Timeouts here are deadlock detectors, never latency claims: a correct
implementation passes long before them, and a wrong one is, wherever the tests
can manage it, caught by a decisive check instead of by waiting them out.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

__all__ = ["BUDGET", "DEADLOCK", "Gate", "explain", "thread_deaths", "wait_for"]

DEADLOCK = 2.0  # seconds: a deadlock detector, never a latency claim (the solutions need milliseconds)
BUDGET = 5.0  # seconds a check may take (exercises/conftest.py); the solutions need well under 0.3 s for most


def explain(*, expected: str, got: str, usually: str) -> str:
    """A failure message in three parts: expected, got, and what that usually means."""
    return f"\n  Expected: {expected}\n  Got:      {got}\n  Usually:  {usually}\n"


class Gate:
    """Tasks that block until the test opens the gate, and a count of how many are inside."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._entered = threading.Condition()
        self.entered = 0

    def task(self, *args: object) -> None:
        with self._entered:
            self.entered += 1
            self._entered.notify_all()
        self._open.wait()

    def open(self) -> None:
        self._open.set()

    def wait_until_entered(self, n: int, timeout: float = DEADLOCK) -> bool:
        with self._entered:
            return self._entered.wait_for(lambda: self.entered >= n, timeout)


def wait_for(condition: Callable[[], bool], timeout: float = DEADLOCK) -> bool:
    """Poll ``condition`` until true or ``timeout``; for states no Event announces (a thread's death)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


@contextlib.contextmanager
def thread_deaths() -> Iterator[list[BaseException]]:
    """Collect the exceptions that kill threads (``threading.excepthook``) so a test can talk about them."""
    deaths: list[BaseException] = []
    original = threading.excepthook

    def record(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            deaths.append(args.exc_value)

    threading.excepthook = record
    try:
        yield deaths
    finally:
        threading.excepthook = original
