"""Small tools for the chapter tests: gates for blocking tasks, unique pool names,
thread counts, thread deaths."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator

DEADLOCK = 10.0  # seconds: a deadlock detector, never a latency claim
# seconds to wait for something that can never happen on a broken variant
IMPOSSIBLE = 0.3

_names = itertools.count()


def unique(prefix: str = "pool") -> str:
    """A pool name no other test uses, so that its threads can be told apart by name."""
    return f"{prefix}{next(_names)}"


def worker_threads(name: str) -> list[threading.Thread]:
    """The live threads of the pool or worker called ``name`` (they are named
    ``dualqueue-<name>-<slot>``)."""
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith(f"dualqueue-{name}-") and t.is_alive()
    ]


class Gate:
    """Tasks that block until the test opens the gate, and a count of how many are
    inside."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._entered = threading.Condition()
        self.entered = 0
        # the threads that entered, to join in tests that own them
        self.threads: list[threading.Thread] = []

    def task(self, *args: object) -> None:
        with self._entered:
            self.entered += 1
            self.threads.append(threading.current_thread())
            self._entered.notify_all()
        self._open.wait()

    def open(self) -> None:
        self._open.set()

    def wait_until_entered(self, n: int, timeout: float = DEADLOCK) -> bool:
        with self._entered:
            return self._entered.wait_for(lambda: self.entered >= n, timeout)


def wait_for(condition: Callable[[], bool], timeout: float = DEADLOCK) -> bool:
    """Poll ``condition`` until true or ``timeout``; for states no Event announces (a
    thread's death)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


@contextlib.contextmanager
def thread_deaths() -> Iterator[list[BaseException]]:
    """Collect the exceptions that kill threads (``threading.excepthook``) instead of
    failing the test.

    Only for tests that show a broken worker dying: the death is the claim, so
    the test asserts on the collected list.
    """
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


def boom(*args: object) -> None:
    raise RuntimeError("boom")
