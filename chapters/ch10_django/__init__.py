"""Chapter 10, wiring into Django: the finished core behind Django's Tasks API, safely.

The chapter builds no new core. It imports the finished one (``dualqueue``) and
re-exports its names, so that the shared behaviour suite runs against this
chapter too, and it uses the real adapter, ``dualqueue.django``. What the
package adds is a small Django app that shows why the adapter is built the way
it is, each time with the bug before the fix:

* ``settings``: the minimal settings (``DUALQUEUE``, ``TASKS``, the app, SQLite in WAL
mode);
* ``tasks``: tasks declared with ``@task()`` and ``@task(queue_name="site")``;
* ``views``: a view that enqueues on commit, and its broken twin that enqueues at once;
* ``experiments``: the stories the demo tells (rollback, visibility, connections,
  backends per thread, validation at import, the guarded status endpoint).

Importing this package imports no Django module: the app is loaded only by a
process configured with ``chapters.ch10_django.settings`` (the demo does that).
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
