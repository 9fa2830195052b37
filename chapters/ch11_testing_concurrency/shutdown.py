"""The shutdown property: every task is accounted for, by name, whatever the workload.

A shutdown with a deadline has three honest outcomes for each task that was
outstanding: it finished during the drain, it was dropped (never started, and
named in the report), or it was still running at the deadline (named too, and
left to its daemon thread). The property checks it twice:

* by number: ``finished + dropped + still_running == queued + running`` in the
  ``ShutdownReport``, and the pool's own ``dropped`` counter agrees;
* by name: every task either started or is named as dropped, never both, and
  every task named as still running did start. Each task carries a name of its
  own, so a shutdown cannot balance its books by counting the wrong task.

Hypothesis chooses the workload: tasks that return, raise, or hang until the
test is over, in any order, on one to three workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dualqueue import PoolClosedError, WorkerPool
from hypothesis import given, settings
from hypothesis import strategies as st

__all__ = ["NamedTask", "check_shutdown_accounts_for_every_task", "shutdown_property"]

DEADLOCK = 10.0  # seconds: a deadlock detector, never a latency claim
DRAIN = 0.02  # seconds of drain: short, so that hanging tasks force drops

PoolClass = Callable[..., WorkerPool]


# --8<-- [start:named-task]
class NamedTask:
    """A task with a name of its own (``...shutdown.task-7``), which records when it
    starts."""

    def __init__(
        self, n: int, kind: str, started: set[str], release: threading.Event
    ) -> None:
        self.__qualname__ = f"task-{n}"  # what the pool's reports call it
        self.name = f"{__name__}.task-{n}"
        self.kind, self.started, self.release = kind, started, release

    def __call__(self) -> None:
        self.started.add(self.name)  # set.add is atomic: no lock needed for this record
        if self.kind == "hang":
            self.release.wait(DEADLOCK)  # a call to Earth Engine that has not come back
        elif self.kind == "raise":
            raise RuntimeError(f"{self.name} failed")
# --8<-- [end:named-task]


# --8<-- [start:check]
def check_shutdown_accounts_for_every_task(
    make: PoolClass, kinds: list[str], workers: int
) -> None:
    pool = make("drain", workers=workers)
    started: set[str] = set()
    release = threading.Event()
    tasks = [NamedTask(n, kind, started, release) for n, kind in enumerate(kinds)]
    try:
        for task in tasks:
            pool.submit(task)
        report = pool.shutdown(timeout=DRAIN)
        try:
            pool.submit(int)
        except PoolClosedError:
            pass
        else:
            raise AssertionError("a submit was accepted after shutdown")
    finally:
        # let the hanging tasks return, so that the pool settles before we judge
        release.set()
    assert pool.join(DEADLOCK), "the pool never settled after its shutdown"
    after = pool.snapshot()

    # By number: the report and the pool's counters tell the same story.
    outstanding = report.queued + report.running
    accounted = report.finished + len(report.dropped) + len(report.still_running)
    assert accounted == outstanding, (
        f"the report accounts for {accounted} of {outstanding} outstanding tasks"
    )
    assert after["dropped"] == len(report.dropped), (
        f"the pool counted {after['dropped']} drops, named {report.dropped}"
    )
    assert (
        after["submitted"] == after["succeeded"] + after["failed"] + after["dropped"]
    ), f"a task vanished: {after}"

    # By name: a task started, or it was dropped; never both, never neither.
    everyone = {task.name for task in tasks}
    dropped = set(report.dropped)
    assert len(dropped) == len(report.dropped), "a dropped task was named twice"
    assert not dropped & started, f"dropped but ran anyway: {sorted(dropped & started)}"
    assert started | dropped == everyone, (
        f"neither ran nor reported as dropped: {sorted(everyone - started - dropped)}"
    )
    assert set(report.still_running) <= started, (
        "a task reported as still running never started"
    )
# --8<-- [end:check]


# --8<-- [start:property]
def shutdown_property(make: PoolClass, **options: Any) -> Callable[[], None]:
    """A hypothesis test: for any workload, a shutdown accounts for every task."""

    @settings(deadline=None, **options)
    @given(
        kinds=st.lists(st.sampled_from(["return", "raise", "hang"]), max_size=20),
        workers=st.integers(min_value=1, max_value=3),
    )
    def shutdown_accounts_for_every_task(kinds: list[str], workers: int) -> None:
        check_shutdown_accounts_for_every_task(make, kinds, workers)

    return shutdown_accounts_for_every_task
# --8<-- [end:property]
