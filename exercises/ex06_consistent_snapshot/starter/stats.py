"""A pool's counters, and the snapshot of them that the status endpoint shows.

Exercise 6. Every counter update here holds the lock, so no update is ever
lost. And still the status page sometimes shows a task that is neither queued
nor running nor finished. Make every snapshot add up (see README.md):

    submitted == queued + running + succeeded + failed
"""

from __future__ import annotations

import threading


class PoolStats:
    """The counters of one pool. Workers report transitions; the status endpoint takes
    snapshots."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.submitted = 0
        self.queued = 0
        self.running = 0
        self.succeeded = 0
        self.failed = 0

    # --8<-- [start:transitions]
    def task_submitted(self) -> None:
        # TODO: each update is locked, but a snapshot can look between the two.
        with self._lock:
            self.submitted += 1
        with self._lock:
            self.queued += 1

    def task_started(self) -> None:
        with self._lock:
            self.queued -= 1
        with self._lock:
            self.running += 1

    def task_finished(self, ok: bool) -> None:
        with self._lock:
            self.running -= 1
        with self._lock:
            if ok:
                self.succeeded += 1
            else:
                self.failed += 1
    # --8<-- [end:transitions]

    # --8<-- [start:snapshot]
    def snapshot(self) -> dict[str, int]:
        """The counters, for the status endpoint (JSON-serializable)."""
        # TODO: these five reads happen one after the other, while the workers go on.
        return {
            "submitted": self.submitted,
            "queued": self.queued,
            "running": self.running,
            "succeeded": self.succeeded,
            "failed": self.failed,
        }
    # --8<-- [end:snapshot]
