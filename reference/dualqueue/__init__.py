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
from .periodic import (
    Claim,
    Claims,
    Cron,
    Every,
    FileClaims,
    LocalClaims,
    Periodic,
    Schedule,
)
from .pool import ShutdownReport, WorkerPool, drain_all, report_progress
from .retry import DeadLetter, Retry, Retrying
from .system import TaskSystem

__all__ = [
    "Claim",
    "Claims",
    "Clock",
    "Cron",
    "DeadLetter",
    "Debouncer",
    "Every",
    "FakeClock",
    "FileClaims",
    "Handle",
    "LocalClaims",
    "Periodic",
    "PoolClosedError",
    "QueueFullError",
    "Retry",
    "Retrying",
    "Schedule",
    "ShutdownReport",
    "SystemClock",
    "TaskSystem",
    "WorkerPool",
    "drain_all",
    "report_progress",
]

__version__ = "0.1.0"
