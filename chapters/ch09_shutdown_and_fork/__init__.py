"""Chapter 9, shutdown and fork: nothing lost silently on deploy, fresh forked pools.

The last chapter's core modules are byte-identical copies of ``reference/dualqueue``
(a test checks it file by file), so this package is the finished core.

    >>> from chapters.ch09_shutdown_and_fork import PoolClosedError, TaskSystem
    >>> tasks = TaskSystem(general=2, site=10)
    >>> sent = []
    >>> tasks.submit("general", sent.append, "reset-email")
    >>> report = tasks.shutdown(timeout=5)        # stop intake, drain, report
    >>> sent, report.complete, report.dropped
    (['reset-email'], True, ())
    >>> try:
    ...     tasks.submit("general", sent.append, "too late")
    ... except PoolClosedError as exc:
    ...     print(exc)
    'general' pool is shut down; list.append was not queued
"""

from .clock import Clock, FakeClock, Handle, SystemClock
from .debounce import Debouncer
from .errors import PoolClosedError, QueueFullError
from .pool import ShutdownReport, WorkerPool, drain_all
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
    }
)

__all__ = [
    "FEATURES",
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
