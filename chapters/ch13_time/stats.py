"""A pool's counters: one consistent picture, kept under the pool's one lock.

``PoolStats`` is a plain record. It has no lock of its own on purpose: every
field is read and written only while holding the owning ``WorkerPool``'s
mutex, the same mutex that guards the queue, so that at every snapshot

    submitted == scheduled + queued + running + succeeded + failed + dropped

holds exactly, where ``scheduled`` counts deferred tasks not yet due
(``submit_after``) and ``queued`` counts the tasks waiting in the queue plus
the ones waiting for a retry. No counter ever decreases except ``scheduled``,
``running`` and ``retrying``, which are levels, not totals.

Why one lock per pool rather than one for the whole system: the invariant is
per pool, and a single global lock would make a busy site pool contend with the
general pool on every task, the very coupling two pools exist to remove.

Free-threading checklist (what still relies on the GIL): nothing. Every field
is touched under the owning pool's mutex; ``copy()`` runs under it too, and
the copy is rendered outside it by one thread.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .retry import DeadLetter

__all__ = ["ErrorRecord", "PoolStats", "describe", "iso"]

MESSAGE_LIMIT = 200


def iso(wall: float | None) -> str | None:
    """Seconds since the epoch as an ISO-8601 UTC string (None stays None)."""
    if wall is None:
        return None
    return datetime.fromtimestamp(wall, tz=UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ErrorRecord:
    """The last error a pool saw: its type and a short message, never a traceback."""

    error_type: str
    message: str
    at: float  # monotonic, converted for display at snapshot time

    @classmethod
    def of(cls, exc: BaseException, at: float) -> ErrorRecord:
        """The record of ``exc``. Runs user code: never call it under a lock."""
        return cls(*describe(exc), at)


def describe(exc: BaseException) -> tuple[str, str]:
    """``(type name, first line of the message)``, whatever ``exc`` does.

    ``str(exc)`` and the type's names are user code: they may raise anything,
    return something that is not text, or return megabytes. Like
    ``traceback``, fall back to a fixed text instead of failing.
    """
    try:
        text = str(exc)
        if not isinstance(text, str):  # pragma: no cover - str() refuses non-str
            raise TypeError("__str__ returned non-text")
        text = str.__str__(text)[: MESSAGE_LIMIT * 4]  # a plain str, bounded
        lines = text.splitlines()
        message = lines[0] if lines else ""
    except BaseException:
        message = "<exception str() failed>"
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    try:
        kind = type(exc)
        module, qualname = kind.__module__, kind.__qualname__
        if not (isinstance(module, str) and isinstance(qualname, str)):
            raise TypeError("names are not text")
        module, qualname = str.__str__(module), str.__str__(qualname)[:MESSAGE_LIMIT]
        error_type = (
            qualname if module == "builtins" else f"{module[:MESSAGE_LIMIT]}.{qualname}"
        )
    except BaseException:
        error_type = "<unknown exception type>"
    return error_type, message


class PoolStats:
    """Counters of one pool, guarded by its mutex: hold it to touch any field."""

    __slots__ = (
        "dead_letters",
        "dropped",
        "failed",
        "last_error",
        "last_finished_at",
        "last_submitted_at",
        "rejected",
        "retried",
        "retrying",
        "running",
        "scheduled",
        "submitted",
        "succeeded",
    )

    def __init__(self, dead_letter_limit: int) -> None:
        self.submitted = 0  # accepted by submit (a rejected submit is not counted here)
        self.succeeded = 0
        self.failed = 0  # failed for the last time (after any retries)
        self.dropped = 0  # removed unrun at shutdown: the only way a task is lost
        self.rejected = 0  # refused by a full queue: the caller got QueueFullError
        self.retried = 0  # retry attempts scheduled (a level of effort, not of tasks)
        self.running = 0
        self.retrying = 0  # waiting for a backoff delay; part of "queued"
        self.scheduled = 0  # deferred (submit_after), not yet due; a level
        self.last_submitted_at: float | None = None
        self.last_finished_at: float | None = None
        self.last_error: ErrorRecord | None = None
        self.dead_letters: deque[DeadLetter] = deque(maxlen=dead_letter_limit)

    def copy(self) -> PoolStats:
        """A copy to render outside the lock.

        Field by field on purpose: plain attribute reads are what interleaving
        explorers (and readers) can see; a ``getattr`` loop hides them.
        """
        twin = PoolStats(self.dead_letters.maxlen or 0)
        twin.submitted = self.submitted
        twin.succeeded = self.succeeded
        twin.failed = self.failed
        twin.dropped = self.dropped
        twin.rejected = self.rejected
        twin.retried = self.retried
        twin.running = self.running
        twin.retrying = self.retrying
        twin.scheduled = self.scheduled
        twin.last_submitted_at = self.last_submitted_at
        twin.last_finished_at = self.last_finished_at
        twin.last_error = self.last_error
        twin.dead_letters.extend(self.dead_letters)
        return twin

    def as_dict(self, *, in_queue: int, now: float, wall: float) -> dict[str, Any]:
        """The JSON-ready counters; ``now``/``wall`` convert monotonic times to show."""

        def shown(t: float | None) -> str | None:
            return None if t is None else iso(wall - (now - t))

        finished = self.succeeded + self.failed
        error = self.last_error
        return {
            "scheduled": self.scheduled,
            "queued": in_queue + self.retrying,
            "retrying": self.retrying,
            "running": self.running,
            "submitted": self.submitted,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "retried": self.retried,
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
            "dead_letters": [letter.as_dict() for letter in self.dead_letters],
        }
