"""Chapter 13, time: later, every, how far along.

From this chapter on, the core modules are byte-identical copies of
``reference/dualqueue`` (a test checks it file by file), so this package is the
finished core; chapter 9 keeps its own snapshot of the core as it was there.

    >>> from chapters.ch13_time import PoolClosedError, TaskSystem
    >>> tasks = TaskSystem(general=2, site=10)
    >>> sent = []
    >>> tasks.submit("general", sent.append, "reset-email")
    >>> report = tasks.shutdown(timeout=5)        # stop intake, drain, report
    >>> sent, report.complete, report.dropped
    (['reset-email'], True, ())
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
        "clock",
        "debouncer",
        "retries",
        "dead_letters",
        "shutdown",
        "fork",
        "exit_drain",
        "deferred",
        "periodic",
        "progress",
    }
)

__all__ = [
    "FEATURES",
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
