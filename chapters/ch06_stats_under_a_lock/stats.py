"""A pool's counters: one consistent picture, kept under the pool's one lock.

``PoolStats`` is a plain record. It has no lock of its own on purpose: every
field is read and written only while holding the owning ``WorkerPool``'s
mutex, the same mutex that guards the queue, so that at every snapshot

    submitted == queued + running + succeeded + failed + dropped

holds exactly. No counter ever decreases except ``running``, which is a level,
not a total.

Why one lock per pool rather than one for the whole system: the invariant is
per pool, and a single global lock would make a busy site pool contend with the
general pool on every task, the very coupling two pools exist to remove.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["ErrorRecord", "PoolStats", "iso"]

MESSAGE_LIMIT = 200


def iso(wall: float | None) -> str | None:
    """Seconds since the epoch as an ISO-8601 UTC string (None stays None)."""
    if wall is None:
        return None
    return datetime.fromtimestamp(wall, tz=UTC).isoformat(timespec="milliseconds")


# --8<-- [start:error-record]
@dataclass(frozen=True)
class ErrorRecord:
    """The last error a pool saw: its type and a short message, never a traceback."""

    error_type: str
    message: str
    at: float  # monotonic, converted for display at snapshot time

    @classmethod
    def of(cls, exc: BaseException, at: float) -> ErrorRecord:
        message = str(exc).splitlines()[0] if str(exc) else ""
        if len(message) > MESSAGE_LIMIT:
            message = message[: MESSAGE_LIMIT - 1] + "…"
        kind = type(exc)
        error_type = (
            kind.__qualname__
            if kind.__module__ == "builtins"
            else f"{kind.__module__}.{kind.__qualname__}"
        )
        return cls(error_type, message, at)
        # --8<-- [end:error-record]


# --8<-- [start:pool-stats]
class PoolStats:
    """Counters of one pool. Guarded by the owning pool's mutex: hold it to touch any
    field."""

    __slots__ = (
        "dropped",
        "failed",
        "last_error",
        "last_finished_at",
        "last_submitted_at",
        "rejected",
        "running",
        "submitted",
        "succeeded",
    )

    def __init__(self) -> None:
        self.submitted = 0  # accepted by submit (a rejected submit is not counted here)
        self.succeeded = 0
        self.failed = 0
        # Removed unrun. Nothing in this chapter removes a task; chapter 9's shutdown
        # will, and the counter is in the invariant from the start so that the
        # status endpoint's shape does not change when it does.
        self.dropped = 0
        self.rejected = 0  # refused by a full queue: the caller got QueueFullError
        self.running = 0
        self.last_submitted_at: float | None = None
        self.last_finished_at: float | None = None
        self.last_error: ErrorRecord | None = None
        # --8<-- [end:pool-stats]

    def copy(self) -> PoolStats:
        """A copy to render outside the lock.

        Field by field on purpose: plain attribute reads are what interleaving
        explorers (and readers) can see; a ``getattr`` loop hides them.
        """
        twin = PoolStats()
        twin.submitted = self.submitted
        twin.succeeded = self.succeeded
        twin.failed = self.failed
        twin.dropped = self.dropped
        twin.rejected = self.rejected
        twin.running = self.running
        twin.last_submitted_at = self.last_submitted_at
        twin.last_finished_at = self.last_finished_at
        twin.last_error = self.last_error
        return twin

    def as_dict(self, *, in_queue: int, now: float, wall: float) -> dict[str, Any]:
        """The JSON-ready counters. ``now``/``wall`` convert monotonic times for
        display."""

        def shown(t: float | None) -> str | None:
            return None if t is None else iso(wall - (now - t))

        finished = self.succeeded + self.failed
        error = self.last_error
        return {
            "queued": in_queue,
            "running": self.running,
            "submitted": self.submitted,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "error_rate": round(self.failed / finished, 4) if finished else 0.0,
            "last_submitted_at": shown(self.last_submitted_at),
            "last_finished_at": shown(self.last_finished_at),
            "last_error": None
            if error is None
            else {
                "type": error.error_type,
                "message": error.message,
                "at": shown(error.at),
            },
        }
