"""A pool's task counters, updated by its worker threads as tasks start and finish.

Exercise 5. Every method here is a read-modify-write: ``self.succeeded += 1``
reads the counter, adds one, and writes it back. Two workers finishing at the
same moment can both read 41 and both write 42: one success is lost. Make every
update safe with the lock that ``__init__`` already creates (see README.md).
"""

from __future__ import annotations

import threading


class TaskCounts:
    """How many tasks started, succeeded and failed in one pool. Workers call the
    record_* methods."""

    def __init__(self) -> None:
        # TODO: this lock guards the three counters below; nothing uses it yet.
        self._lock = threading.Lock()
        self.started = 0
        self.succeeded = 0
        self.failed = 0

    # --8<-- [start:record]
    def record_start(self) -> None:
        self.started += 1

    def record_success(self) -> None:
        self.succeeded += 1

    def record_failure(self) -> None:
        self.failed += 1
    # --8<-- [end:record]

    def finished(self) -> int:
        """Tasks that are over, whichever way they ended."""
        return self.succeeded + self.failed
