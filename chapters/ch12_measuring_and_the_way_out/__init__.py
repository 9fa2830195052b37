"""Chapter 12, measuring, and the way out: what the design costs, what it buys, and when
to outgrow it.

The chapter builds no new core. It imports the finished one (``dualqueue``) and
re-exports its names, so that the shared behaviour suite runs against this
chapter too. What it adds:

* ``measure``: percentiles from raw samples, per-call costs as a median of repeats;
* ``submit_cost``: what ``submit`` costs the request, next to ``queue.Queue.put`` and
  ``ThreadPoolExecutor.submit``, as ratios measured in one run;
* ``latency``: how long light tasks wait to start while heavy work saturates the
  process, on one shared pool or two, with waiting or CPU-bound heavy work, and the
  two remedies for CPU work (a shorter switch interval, a process pool);
* ``way_out``: the settings that move the same tasks to a durable engine
  (``django_tasks_db`` or RQ), and a run of chapter 10's tasks on the database backend.

A compact, readable version of what ``benchmarks/`` measures in full.
"""

from dualqueue import (
    Clock,
    DeadLetter,
    Debouncer,
    FakeClock,
    Handle,
    PoolClosedError,
    QueueFullError,
    Retry,
    Retrying,
    ShutdownReport,
    SystemClock,
    TaskSystem,
    WorkerPool,
    drain_all,
)

# The finished core's features: everything in the vocabulary except chapter 4's
# priority.
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
