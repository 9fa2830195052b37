"""Chapter 6, stats under a lock: the status endpoint's numbers, one consistent picture
per pool.

>>> from chapters.ch06_stats_under_a_lock import TaskSystem
>>> tasks = TaskSystem()  # general=2, site=10; no thread started yet
>>> sent = []
>>> tasks.submit("general", sent.append, "reset-email")
>>> tasks.join(timeout=5)
True
>>> general = tasks.snapshot()["pools"]["general"]
>>> [general[key] for key in ("submitted", "queued", "running", "succeeded", "failed")]
[1, 0, 0, 1, 0]
"""

from .errors import QueueFullError
from .naive import NaiveStatsPool
from .pool import WorkerPool
from .system import TaskSystem

FEATURES: frozenset[str] = frozenset(
    {
        "worker",
        "survives_errors",
        "lazy_start",
        "pool",
        "bad_input",
        "task_system",
        "bounded",
        "stats",
        "snapshot",
    }
)

__all__ = ["FEATURES", "NaiveStatsPool", "QueueFullError", "TaskSystem", "WorkerPool"]
