"""Chapter 7: the debouncer and time. The Timer debouncer's faults, each shown, then the
same checks passing.

``TimerDebouncer`` cannot be given a clock (that is one of its faults), so the
checks that run against it use real windows of a few hundredths of a second.
Every check is decided causally: a run that blocks on a gate, and a second run
that either starts beside it (the Timer version) or cannot (the Debouncer's
single flight, so a short wait is enough to say it did not).
"""

from __future__ import annotations

import doctest
from typing import Any

import chapters.ch07_debouncer_and_time
from chapters.ch07_debouncer_and_time import (
    Debouncer,
    FakeClock,
    SystemClock,
    TaskSystem,
    TimerDebouncer,
    WorkerPool,
    demo,
)
from chapters.ch07_debouncer_and_time.demo import counting_thread_starts

from .support import DEADLOCK, IMPOSSIBLE, Gate, unique

REAL_WAIT = 0.01  # seconds, only for TimerDebouncer, which cannot take a clock


# --8<-- [start:threads]
def threads_started_by_a_burst(
    index: TimerDebouncer | Debouncer, triggers: int = 200
) -> int:
    with counting_thread_starts() as started:
        for n in range(triggers):
            index.trigger(n)
    return started[0]


def test_the_timer_debouncer_starts_a_thread_for_every_trigger() -> None:
    index = TimerDebouncer(print, wait=3600)
    assert threads_started_by_a_burst(index) == 200
    assert index._timer is not None
    index._timer.cancel()  # the 200th thread; the other 199 were cancelled by the burst


def test_the_debouncer_moves_one_timer_on_one_clock_thread() -> None:
    clock = SystemClock()
    index = Debouncer(print, wait=3600, clock=clock)
    # the clock's own thread, started by the first trigger
    assert threads_started_by_a_burst(index) == 1
    assert index.cancel() == 200
# --8<-- [end:threads]


# --8<-- [start:overlap]
def second_run_starts_beside_a_slow_first(
    index: TimerDebouncer | Debouncer,
    let_window_pass: Any,
    wait_for_second: float,
    gate: Gate,
) -> bool:
    """Trigger, let the window pass, block the run; trigger again, let the window pass:
    does a 2nd run start?"""
    index.fn = gate.task  # every run blocks until the gate opens
    try:
        index.trigger("doc-1")
        let_window_pass()
        assert gate.wait_until_entered(1), "the first run never started"
        index.trigger("doc-2")
        let_window_pass()
        return gate.wait_until_entered(2, timeout=wait_for_second)
    finally:
        gate.open()


def test_the_timer_debouncer_runs_two_rebuilds_at_once() -> None:
    index, gate = TimerDebouncer(print, wait=REAL_WAIT), Gate()
    assert (
        second_run_starts_beside_a_slow_first(index, lambda: None, DEADLOCK, gate)
        is True
    )
    for timer_thread in gate.threads:  # each run had a thread of its own
        timer_thread.join(DEADLOCK)


def test_the_debouncer_never_starts_a_run_while_one_is_in_flight() -> None:
    clock = FakeClock()
    # free workers: only single flight stops a 2nd run
    pool = WorkerPool(unique("index"), workers=4, clock=clock)
    index = Debouncer(print, wait=15, pool=pool, clock=clock)
    # Sound with a short wait: while the first run is blocked, no second run can start.
    assert (
        second_run_starts_beside_a_slow_first(
            index, lambda: clock.advance(15), IMPOSSIBLE, Gate()
        )
        is False
    )
    assert pool.join(DEADLOCK)
    assert pool.snapshot()["succeeded"] == 2, (
        "the follow-up for doc-2 did not run after the first"
    )
# --8<-- [end:overlap]


def test_the_follow_up_carries_every_trigger_that_arrived_during_the_run_in_order() -> (
    None
):
    clock = FakeClock()
    pool = WorkerPool(unique("index"), workers=2, clock=clock)
    gate = Gate()
    batches: list[list[int]] = []

    def rebuild(batch: list[int]) -> None:
        if not batches:
            gate.task()
        batches.append(batch)

    index = Debouncer(rebuild, wait=15, pool=pool, clock=clock)
    try:
        index.trigger(0)
        clock.advance(15)
        assert gate.wait_until_entered(1)
        for n in range(1, 6):
            index.trigger(n)
        clock.advance(15)
        snap = index.snapshot()
        assert (snap["running"], snap["pending"], snap["pending_items"]) == (
            True,
            True,
            5,
        )
    finally:
        gate.open()
    assert pool.join(DEADLOCK)
    assert batches == [[0], [1, 2, 3, 4, 5]]


def test_a_bounded_pool_that_refuses_a_run_counts_its_items_as_dropped() -> None:
    clock = FakeClock()
    pool = WorkerPool(unique("index"), workers=1, maxsize=1, clock=clock)
    gate = Gate()
    try:
        pool.submit(gate.task)
        assert gate.wait_until_entered(1)
        pool.submit(gate.task)  # the queue is full now
        index = Debouncer(print, wait=15, pool=pool, clock=clock)
        index.trigger("doc-1")
        index.trigger("doc-2")
        clock.advance(15)
        snap = index.snapshot()
    finally:
        gate.open()
    assert (snap["dropped"], snap["running"]) == (2, False)
    assert snap["last_error"]["type"].endswith("QueueFullError")
    assert pool.join(DEADLOCK)


def test_a_system_shares_one_clock_between_its_pools_and_debouncers() -> None:
    clock = FakeClock()
    tasks = TaskSystem(general=1, site=1, clock=clock)
    index = tasks.debouncer("search-index", print, wait=15)
    assert (
        tasks["general"].clock is clock
        and tasks["site"].clock is clock
        and index.clock is clock
    )


def test_the_package_docstring_session_runs() -> None:
    failures, tried = doctest.testmod(
        chapters.ch07_debouncer_and_time, raise_on_error=False
    )
    assert tried > 0 and failures == 0


def test_the_demo_shows_threads_overlaps_bursts_and_the_stream_that_never_settles() -> (
    None
):
    result = demo.main(print=lambda *a: None)
    assert result["threads"] == {"TimerDebouncer": demo.UPLOADS, "Debouncer": 1}
    assert result["bursts"] == [(24.0, ["doc-1", "doc-2", "doc-3"]), (45.0, ["doc-4"])]
    assert result["steady_stream"] == {"no max_wait": 0, "max_wait=60": 60}
    assert result["at_once"] == {"TimerDebouncer": 2, "Debouncer": 1}
    assert result["follow_up"] == [["doc-1"], ["doc-2"]]
