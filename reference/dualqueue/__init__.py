"""dualqueue: in-process background tasks in separate pools, nothing lost silently.

>>> from dualqueue import TaskSystem
>>> tasks = TaskSystem()              # general=2, site=10; no thread started yet
>>> sent = []
>>> tasks.submit("general", sent.append, "reset-email")
>>> tasks.join(timeout=5)
True
>>> sent
['reset-email']
>>> tasks.snapshot()["pools"]["general"]["succeeded"]
1
>>> tasks.shutdown(timeout=5).complete
True
"""

from .clock import Clock, FakeClock, Handle, SystemClock
from .debounce import Debouncer
from .errors import PoolClosedError, QueueFullError
from .pool import ShutdownReport, WorkerPool, drain_all
from .retry import DeadLetter, Retry, Retrying
from .system import TaskSystem

__all__ = [
    "Clock",
    "DeadLetter",
    "Debouncer",
    "FakeClock",
    "Handle",
    "PoolClosedError",
    "QueueFullError",
    "Retry",
    "Retrying",
    "ShutdownReport",
    "SystemClock",
    "TaskSystem",
    "WorkerPool",
    "drain_all",
]

__version__ = "0.1.0"
