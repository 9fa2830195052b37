"""The exceptions a caller of the task system can see.

Every one of them is raised in the caller's thread, at the moment the bad call is
made: nothing bad is discovered later inside a worker.
"""

from __future__ import annotations

__all__ = ["QueueFullError"]


class QueueFullError(RuntimeError):
    """A bounded pool's queue is full.

    Raised by ``submit`` instead of blocking the caller (a web request must not
    wait for a worker). The task was not accepted; the pool counts the refusal
    as ``rejected`` in its snapshot so that overload is visible.
    """
