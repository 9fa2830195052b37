"""Small tools the property tests share: gates for blocking tasks, and a bounded wait."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

# --8<-- [start:gate]
DEADLOCK = 10.0  # seconds: a deadlock detector, never a latency claim


class Gate:
    """Tasks that block until the test opens the gate, and a count of how many are
    inside."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._lock = threading.Lock()
        self.entered = 0

    def task(self) -> None:
        with self._lock:
            self.entered += 1
        self._open.wait()

    def open(self) -> None:
        self._open.set()

    def wait_until_entered(self, n: int, timeout: float = DEADLOCK) -> bool:
        return wait_for(lambda: self.entered >= n, timeout)
        # --8<-- [end:gate]


def wait_for(condition: Callable[[], bool], timeout: float = DEADLOCK) -> bool:
    """Poll ``condition`` until true or ``timeout``; for states no Event announces."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def boom() -> None:
    raise RuntimeError("boom")


class Blocking(logging.Handler):
    """A log handler that blocks until unblocked (or ``wait`` seconds): a slow remote
    sink, a full pipe.

    (Not ``self.release``: that would shadow ``Handler.release()``, so the handler's
    lock would never be released and ``logging.shutdown()`` would hang the exit.)
    """

    def __init__(self, wait: float = DEADLOCK) -> None:
        super().__init__(logging.DEBUG)
        self.wait = wait
        self.unblock = threading.Event()
        self.seen: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record)
        self.unblock.wait(self.wait)
