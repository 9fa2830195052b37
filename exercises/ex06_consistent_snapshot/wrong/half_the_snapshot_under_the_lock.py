"""Wrong: ``snapshot()`` reads the first two counters under the lock and the rest after it.

Kind: race
Caught by: test_a_transition_in_the_middle_of_a_snapshot_cannot_tear_it
Message mentions: inside one `with self._lock:` block
"""

from __future__ import annotations

import threading


class PoolStats:
    """The counters of one pool. Workers report transitions; the status endpoint takes snapshots."""

    def __init__(self) -> None:
        # Guards all five counters. The invariant above holds whenever it is free:
        # every transition changes its counters inside one `with self._lock` block.
        self._lock = threading.Lock()
        self.submitted = 0
        self.queued = 0
        self.running = 0
        self.succeeded = 0
        self.failed = 0

    def task_submitted(self) -> None:
        with self._lock:
            self.submitted += 1
            self.queued += 1

    def task_started(self) -> None:
        with self._lock:
            self.queued -= 1
            self.running += 1

    def task_finished(self, ok: bool) -> None:
        with self._lock:
            self.running -= 1
            if ok:
                self.succeeded += 1
            else:
                self.failed += 1

    def snapshot(self) -> dict[str, int]:
        """The counters, for the status endpoint (JSON-serializable), all read at one moment."""
        with self._lock:
            submitted, queued = self.submitted, self.queued
        if True:
            return {
                "submitted": submitted,
                "queued": queued,
                "running": self.running,
                "succeeded": self.succeeded,
                "failed": self.failed,
            }
