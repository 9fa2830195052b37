"""Wrong: the counters live in a dict that is a class attribute, shared by every TaskCounts.

Every update is locked and no update is lost, but the general pool and the
site pool now count into the same dict: each shows the other's tasks.

Kind: logic
Caught by: test_two_pools_count_apart
Message mentions: shared between instances
"""

from __future__ import annotations

import threading


class TaskCounts:
    """How many tasks started, succeeded and failed in one pool. Workers call the record_* methods."""

    def __init__(self) -> None:
        # Guards started, succeeded and failed: hold it for every read-modify-write of them.
        self._lock = threading.Lock()
        self._counts = TaskCounts._shared

    _shared = {"started": 0, "succeeded": 0, "failed": 0}  # noqa: RUF012  (the mistake this file keeps)

    @property
    def started(self) -> int:
        return self._counts["started"]

    @property
    def succeeded(self) -> int:
        return self._counts["succeeded"]

    @property
    def failed(self) -> int:
        return self._counts["failed"]

    def record_start(self) -> None:
        with self._lock:
            self._counts["started"] += 1

    def record_success(self) -> None:
        with self._lock:
            self._counts["succeeded"] += 1

    def record_failure(self) -> None:
        with self._lock:
            self._counts["failed"] += 1

    def finished(self) -> int:
        """Tasks that are over, whichever way they ended."""
        with self._lock:
            return self.succeeded + self.failed
