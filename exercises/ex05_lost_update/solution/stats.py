"""A pool's task counters, updated by its worker threads as tasks start and finish.

Exercise 5, solved. Every read-modify-write happens while holding ``_lock``, so
two workers updating a counter at the same moment cannot both read the old
value: the second waits until the first has written its result.
"""

from __future__ import annotations

import threading


class TaskCounts:
    """How many tasks started, succeeded and failed in one pool. Workers call the
    record_* methods."""

    def __init__(self) -> None:
        # Guards started, succeeded and failed: hold it for every read-modify-write of
        # them.
        self._lock = threading.Lock()
        self.started = 0
        self.succeeded = 0
        self.failed = 0

    # --8<-- [start:record]
    def record_start(self) -> None:
        with self._lock:
            self.started += 1

    def record_success(self) -> None:
        with self._lock:
            self.succeeded += 1

    def record_failure(self) -> None:
        with self._lock:
            self.failed += 1
    # --8<-- [end:record]

    def finished(self) -> int:
        """Tasks that are over, whichever way they ended."""
        with self._lock:
            return self.succeeded + self.failed
