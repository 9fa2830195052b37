"""Orderings that matter, forced with explicit hooks: no stress loop, no sleep, no luck.

* The registry: a pool created on another thread while a caller walks the live pools
  (what the exit hook and a server's worker-exit hook do). The walk must not break.
* The follow-up at shutdown: a debouncer's run is in flight, more items arrive, the
  system shuts down, and only then does the run end. The follow-up batch must run within
  the drain or be named as dropped in the report, never vanish.
* The running guard: the pool drops a debouncer's queued run; the debouncer must not stay
  "running" forever, and what is triggered later is delivered or counted.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from dualqueue import Debouncer, FakeClock, PoolClosedError, TaskSystem, WorkerPool
from dualqueue.pool import live_pools

from chapters.broken import live_pools_without_a_copy

from .support import DEADLOCK, Gate, wait_for


@pytest.mark.parametrize(
    ("walk", "breaks"),
    [(live_pools, False), (live_pools_without_a_copy, True)],
    ids=["live_pools", "live_pools_without_a_copy"],
)
def test_a_pool_created_on_another_thread_mid_walk_does_not_break_the_walk(walk: Any, breaks: bool) -> None:
    keep = [WorkerPool(f"walked-{n}") for n in range(3)]  # something to walk
    created: list[WorkerPool] = []

    def create_elsewhere() -> None:
        created.append(WorkerPool("created-mid-walk"))

    def walk_and_create() -> int:
        seen = 0
        for _ in walk():
            if seen == 0:  # the hook: the other thread runs between two steps of the walk
                other = threading.Thread(target=create_elsewhere)
                other.start()
                other.join(DEADLOCK)
            seen += 1
        return seen

    if breaks:
        with pytest.raises(RuntimeError, match="changed size during iteration"):
            walk_and_create()
    else:
        assert walk_and_create() >= len(keep)
        assert created and created[0] in live_pools(), "the pool created mid-walk is not registered"


def test_a_follow_up_batch_that_falls_due_during_a_shutdown_runs_or_is_named() -> None:
    clock = FakeClock()
    tasks = TaskSystem(general=1, clock=clock)
    in_run, release = threading.Event(), threading.Event()
    delivered: list[list[int]] = []

    def index(batch: list[int]) -> None:
        delivered.append(batch)
        if len(delivered) == 1:
            in_run.set()
            release.wait(DEADLOCK)

    debouncer = tasks.debouncer("index", index, wait=1.0)
    debouncer.trigger(1)
    clock.advance(1.0)  # the first run starts on the worker...
    assert in_run.wait(DEADLOCK)
    debouncer.trigger(2)  # ...and an item arrives during it: a follow-up is owed
    reports: list[Any] = []
    shutting = threading.Thread(target=lambda: reports.append(tasks.shutdown(timeout=DEADLOCK)))
    shutting.start()
    # The hook: the run ends only once the shutdown has closed the pool.
    assert wait_for(lambda: tasks["general"].closed, DEADLOCK)
    release.set()
    shutting.join(DEADLOCK + 1)
    assert reports, "the shutdown never returned"
    report = reports[0]
    named = [name for name in report.dropped if "index" in name]
    ran_follow_up = [2] in delivered
    assert ran_follow_up or named, f"the follow-up vanished: delivered {delivered}, report {report}"
    assert ran_follow_up != bool(named), f"the follow-up both ran and was named as dropped: {report}"
    d = tasks.snapshot()["debouncers"]["index"]
    assert d["delivered"] + d["dropped"] == 2 and not d["running"], d


def test_a_run_the_pool_dropped_releases_the_guard_and_later_items_are_accounted_for() -> None:
    clock = FakeClock()
    pool = WorkerPool("busy", workers=1, clock=clock)
    gate = Gate()
    pool.submit(gate.task)  # the only worker is busy
    assert gate.wait_until_entered(1)
    delivered: list[int] = []
    debouncer = Debouncer(delivered.extend, wait=1.0, pool=pool, clock=clock)
    debouncer.trigger(1)
    clock.advance(1.0)  # its run is queued behind the busy task
    report = pool.shutdown(timeout=0)  # the drain drops the queued run
    gate.open()
    assert any("debouncer" in name for name in report.dropped), report
    assert not debouncer.running, "the guard stayed set after the pool dropped the run"
    try:
        debouncer.trigger(2)
        debouncer.flush()
    except PoolClosedError:
        triggered = 1
    else:
        triggered = 2
    assert pool.join(DEADLOCK)
    d = debouncer.snapshot()
    assert len(delivered) + d["dropped"] == triggered, f"delivered {delivered}, snapshot {d}"
