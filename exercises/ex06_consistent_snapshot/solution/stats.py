"""A pool's counters, and the snapshot of them that the status endpoint shows.

Exercise 6, solved. A task's move from one state to the next changes two
counters in one locked block, and a snapshot reads all five in one locked
block, so no snapshot can fall between the two halves of a move:

    submitted == queued + running + succeeded + failed
"""

from __future__ import annotations

import threading


class PoolStats:
    """The counters of one pool. Workers report transitions; the status endpoint takes
    snapshots."""

    def __init__(self) -> None:
        # Guards all five counters. The invariant above holds whenever it is free:
        # every transition changes its counters inside one `with self._lock` block.
        self._lock = threading.Lock()
        self.submitted = 0
        self.queued = 0
        self.running = 0
        self.succeeded = 0
        self.failed = 0

    # --8<-- [start:transitions]
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
    # --8<-- [end:transitions]

    # --8<-- [start:snapshot]
    def snapshot(self) -> dict[str, int]:
        """The counters, for the status endpoint (JSON-serializable), all read at one
        moment."""
        with self._lock:
            return {
                "submitted": self.submitted,
                "queued": self.queued,
                "running": self.running,
                "succeeded": self.succeeded,
                "failed": self.failed,
            }
    # --8<-- [end:snapshot]
