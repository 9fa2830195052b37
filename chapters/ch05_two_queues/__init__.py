"""Chapter 5, two queues: separate pools for light and heavy work, bounded queues
refused at the caller.

>>> from chapters.ch05_two_queues import TaskSystem
>>> tasks = TaskSystem()  # general=2, site=10; no thread started yet
>>> sent = []
>>> tasks.submit("general", sent.append, "reset-email")
>>> tasks.join(timeout=5)
True
>>> sent
['reset-email']
"""

from .errors import QueueFullError
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
    }
)

__all__ = ["FEATURES", "QueueFullError", "TaskSystem", "WorkerPool"]
