"""Chapter 7, the debouncer and time: one index rebuild per burst of uploads.

On a clock tests can move:

>>> from chapters.ch07_debouncer_and_time import Debouncer, FakeClock
>>> clock = FakeClock()
>>> runs = []
>>> index = Debouncer(runs.append, wait=15, clock=clock)
>>> index.trigger("doc-1"); clock.advance(10)
>>> index.trigger("doc-2"); clock.advance(14.9)
>>> runs                      # 10 + 14.9 s: still inside doc-2's window
[]
>>> clock.advance(0.1); runs  # quiet for 15 s since doc-2: one run, both items
[['doc-1', 'doc-2']]
"""

from .clock import Clock, FakeClock, Handle, SystemClock
from .debounce import Debouncer
from .errors import QueueFullError
from .naive import TimerDebouncer
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
        "clock",
        "debouncer",
    }
)

__all__ = [
    "FEATURES",
    "Clock",
    "Debouncer",
    "FakeClock",
    "Handle",
    "QueueFullError",
    "SystemClock",
    "TaskSystem",
    "TimerDebouncer",
    "WorkerPool",
]
