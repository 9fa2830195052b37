"""Chapter 8, failures and retries: workers that never die, retries, dead letters.

Retries wait on the clock, never in a worker:

>>> from chapters.ch08_failures_and_retries import Retry
>>> policy = Retry(attempts=5, base_delay=10, factor=2, max_delay=60, jitter=0)
>>> [policy.delay(failures) for failures in range(1, 5)]  # before attempts 2 to 5
[10.0, 20.0, 40.0, 60.0]
>>> quota = TimeoutError("quota")
>>> policy.should_retry(quota, failures=4), policy.should_retry(quota, failures=5)
(True, False)
"""

from .clock import Clock, FakeClock, Handle, SystemClock
from .debounce import Debouncer
from .errors import QueueFullError
from .naive import ExceptionOnlyPool, InPlaceRetry
from .pool import WorkerPool
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
    }
)

__all__ = [
    "FEATURES",
    "Clock",
    "DeadLetter",
    "Debouncer",
    "ExceptionOnlyPool",
    "FakeClock",
    "Handle",
    "InPlaceRetry",
    "QueueFullError",
    "Retry",
    "Retrying",
    "SystemClock",
    "TaskSystem",
    "WorkerPool",
]
