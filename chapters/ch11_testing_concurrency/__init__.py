"""Chapter 11, testing concurrency: properties that can fail, proven against the bugs
they guard against.

The chapter builds no new core. It imports the finished one (``dualqueue``)
and re-exports its names, so that the shared behaviour suite runs against this
chapter too. What it adds are the teaching versions of the property tests, as
functions that take the class under test, so that each runs against the
reference (where it must hold) and against a broken variant from
``chapters.broken`` (where it must fail):

* ``bursts``: the debounce burst model on a ``FakeClock`` (catches
  ``FixedWindowDebouncer``);
* ``snapshots``: the stats invariant, by stress and by pausing a worker at every line
  (the pause catches ``UnlockedStatsPool``; the stress test, on CPython 3.11, does not);
* ``shutdown``: every task accounted for by name (catches ``ForgetfulShutdownPool``);
* ``machine``: a ``RuleBasedStateMachine`` for the debouncer (catches
  ``ForgetfulDebouncer`` and ``EagerFollowUpDebouncer``);
* ``hostile``: generated hostile user code (every ``BaseException`` kind, dunders that
  raise or block, nameless callables, policies at their limits, re-entrant, forking
  and blocking tasks, hostile log handlers); catches ``NarrowCatchPool``,
  ``TextUnderMutexPool``, ``FixedJoinPool`` and ``CancelAtCloseSystem``;
* ``api_machine``: a ``RuleBasedStateMachine`` whose rules call the API from several
  threads at once (catches ``ForgetfulShutdownPool`` and ``CancelAtCloseSystem``);
* ``falsify``: run a property expecting it may fail, and keep its counterexample.
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

# The finished core's features: everything in the vocabulary but chapter 4's priority.
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
