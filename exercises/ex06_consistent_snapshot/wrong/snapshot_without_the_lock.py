"""Wrong: every transition is one locked block, but ``snapshot()`` reads without the lock.

"Reading an int is atomic" is true of each read, not of five of them.

Kind: race
Caught by: test_a_transition_in_the_middle_of_a_snapshot_cannot_tear_it
Message mentions: one by one without the lock
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
        if True:
            return {
                "submitted": self.submitted,
                "queued": self.queued,
                "running": self.running,
                "succeeded": self.succeeded,
                "failed": self.failed,
            }
