"""Wrong: ``record_failure`` was left without the lock (failures are rare, so who would notice?).

Kind: race
Caught by: test_two_workers_recording_at_once_are_both_counted_in_every_interleaving[record_failure-failed]
Message mentions: Hold self._lock
"""

from __future__ import annotations

import threading


class TaskCounts:
    """How many tasks started, succeeded and failed in one pool. Workers call the record_* methods."""

    def __init__(self) -> None:
        # Guards started, succeeded and failed: hold it for every read-modify-write of them.
        self._lock = threading.Lock()
        self.started = 0
        self.succeeded = 0
        self.failed = 0

    def record_start(self) -> None:
        with self._lock:
            self.started += 1

    def record_success(self) -> None:
        with self._lock:
            self.succeeded += 1

    def record_failure(self) -> None:
        self.failed += 1

    def finished(self) -> int:
        """Tasks that are over, whichever way they ended."""
        with self._lock:
            return self.succeeded + self.failed
