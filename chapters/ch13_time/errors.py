"""The exceptions a caller of dualqueue can see.

Every one of them is raised in the caller's thread, at the moment the bad call is
made: nothing bad is discovered later inside a worker.

Free-threading checklist: nothing here is shared or mutable.
"""

from __future__ import annotations

__all__ = ["PoolClosedError", "QueueFullError"]


class PoolClosedError(RuntimeError):
    """A task was submitted to a pool that has been shut down.

    The task was not accepted and is not counted as submitted: the caller still
    owns it and decides what to do (run it inline, store it, or report it).
    """


class QueueFullError(RuntimeError):
    """A bounded pool's queue is full.

    Raised by ``submit`` instead of blocking the caller (a web request must not
    wait for a worker). The task was not accepted; the pool counts the refusal
    as ``rejected`` in its snapshot so that overload is visible.
    """
