"""Debounce: the runs are exactly the bursts, every item once and in order, never overlapping.

The model: a burst is a maximal run of triggers whose gaps are shorter than
``wait`` (and, with ``max_wait``, which started less than ``max_wait`` ago). Its
run happens at its last trigger + ``wait`` (or first trigger + ``max_wait``)
with all its items in trigger order. The fake clock checks it to the exact
second; the real clock checks the same grouping with short windows, so the
fake clock cannot drift from reality.
"""

from __future__ import annotations

import threading
import time

import pytest
from dualqueue import Debouncer, FakeClock, SystemClock, WorkerPool
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from chapters.broken import FixedWindowDebouncer, ForgetfulDebouncer

from .support import DEADLOCK, Gate

# Gaps in whole seconds keep the arithmetic exact; 0 is two triggers at once.
gaps = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=30)
waits = st.integers(min_value=1, max_value=20)


# --8<-- [start:burst-model]
def expected_runs(
    times: list[float], wait: float, max_wait: float | None
) -> list[tuple[float, list[int]]]:
    """The model: (run time, items) for each burst of triggers at ``times``."""
    runs: list[tuple[float, list[int]]] = []
    first = last = None
    items: list[int] = []
    for i, t in enumerate(times):
        if items:
            due = (
                last + wait if max_wait is None else min(last + wait, first + max_wait)
            )
            if t >= due:  # the window closed before this trigger: the burst ran
                runs.append((due, items))
                items = []
        if not items:
            first = t
        last = t
        items.append(i)
    due = last + wait if max_wait is None else min(last + wait, first + max_wait)
    runs.append((due, items))
    return runs
    # --8<-- [end:burst-model]


# --8<-- [start:debounce-property]
def observed_runs(
    make, gap_list: list[int], wait: float, max_wait: float | None
) -> list[tuple[float, list[int]]]:
    """Drive a debouncer on a fake clock: trigger item i after gap i, then let
    everything settle."""
    clock = FakeClock()
    runs: list[tuple[float, list[int]]] = []
    debouncer = make(
        lambda batch: runs.append((clock.now(), list(batch))),
        wait=wait,
        max_wait=max_wait,
        clock=clock,
    )
    for i, gap in enumerate(gap_list):
        clock.advance(gap)
        debouncer.trigger(i)
    clock.advance(10 * (wait + (max_wait or 0)) + 1)
    assert not debouncer.pending
    return runs


def check_runs_are_the_bursts(
    make, gap_list: list[int], wait: int, max_wait: int | None
) -> None:
    times = [float(sum(gap_list[: i + 1])) for i in range(len(gap_list))]
    runs = observed_runs(make, gap_list, wait, max_wait)
    assert runs == expected_runs(times, wait, max_wait), (
        f"triggers at {times}, wait={wait}, max_wait={max_wait}"
    )
    delivered = [item for _, batch in runs for item in batch]
    assert delivered == list(range(len(gap_list))), (
        "an item was lost, duplicated or reordered"
    )
    if max_wait is not None:
        for run_at, batch in runs:
            assert run_at - times[batch[0]] <= max_wait, (
                "an item waited longer than max_wait"
            )


@given(gap_list=gaps, wait=waits)
def test_runs_are_exactly_the_bursts(gap_list: list[int], wait: int) -> None:
    check_runs_are_the_bursts(Debouncer, gap_list, wait, None)
    # --8<-- [end:debounce-property]


@given(gap_list=gaps, wait=waits, extra=st.integers(min_value=0, max_value=30))
def test_max_wait_bounds_how_long_any_item_waits(gap_list: list[int], wait: int, extra: int) -> None:
    check_runs_are_the_bursts(Debouncer, gap_list, wait, wait + extra)


# --8<-- [start:catches-fixed-window]
def test_the_burst_property_catches_a_window_that_does_not_restart() -> None:
    @given(gap_list=gaps, wait=waits)
    @settings(
        phases=[Phase.generate], database=None, derandomize=True, max_examples=200
    )
    def fixed_window_property(gap_list: list[int], wait: int) -> None:
        check_runs_are_the_bursts(FixedWindowDebouncer, gap_list, wait, None)

    with pytest.raises(AssertionError):
        fixed_window_property()
        # --8<-- [end:catches-fixed-window]


# Single flight: a run in progress on a pool worker, triggers during it.
during = st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=12)


# --8<-- [start:single-flight-property]
def check_single_flight(make, before: int, during_gaps: list[int]) -> None:
    """Triggers during a run: exactly one follow-up run gets them all; runs never
    overlap."""
    clock = FakeClock()
    pool = WorkerPool(
        "index", workers=4, clock=clock
    )  # 4 workers: overlap would be possible
    gate = Gate()
    batches: list[list[int]] = []
    in_flight = 0
    max_in_flight = 0
    lock = threading.Lock()

    def rebuild(batch: list[int]) -> None:
        nonlocal in_flight, max_in_flight
        with lock:
            in_flight += 1
            max_in_flight = max(max_in_flight, in_flight)
        if not batches:  # only the first run is slow
            gate.task()
        with lock:
            in_flight -= 1
            batches.append(list(batch))

    debouncer = make(rebuild, wait=10, pool=pool, clock=clock)
    try:
        items = iter(range(1000))
        for _ in range(before):
            debouncer.trigger(next(items))
        clock.advance(10)  # the first run starts and blocks on the gate
        assert gate.wait_until_entered(1)
        for gap in during_gaps:
            clock.advance(gap)
            debouncer.trigger(next(items))
        clock.advance(100)  # windows elapse while the first run is still in flight
        gate.open()
        assert pool.join(DEADLOCK)
        clock.advance(100)
        assert pool.join(DEADLOCK)
    finally:
        gate.open()
        pool.shutdown(DEADLOCK)
    total = before + len(during_gaps)
    delivered = [item for batch in batches for item in batch]
    assert delivered == list(range(total)), (
        f"delivered {delivered}, expected items 0..{total - 1} once each in order"
    )
    assert max_in_flight == 1, "two runs overlapped"
    expected_runs = (1 if before else 0) + (1 if during_gaps else 0)
    assert len(batches) == expected_runs, (
        f"{len(batches)} runs, expected {expected_runs}"
    )
    # --8<-- [end:single-flight-property]


@given(before=st.integers(min_value=1, max_value=5), during_gaps=during)
@settings(max_examples=25)
def test_triggers_during_a_run_get_exactly_one_follow_up(before: int, during_gaps: list[int]) -> None:
    check_single_flight(Debouncer, before, during_gaps)


def test_single_flight_property_catches_a_debouncer_that_drops_triggers_during_a_run() -> None:
    @given(before=st.integers(min_value=1, max_value=5), during_gaps=during)
    @settings(phases=[Phase.generate], database=None, derandomize=True, max_examples=50)
    def forgetful_property(before: int, during_gaps: list[int]) -> None:
        check_single_flight(ForgetfulDebouncer, before, during_gaps)

    with pytest.raises(AssertionError):
        forgetful_property()


# --8<-- [start:real-clock]
# The same burst cases on the real clock. The window is short and the gaps are
# chosen far from it (a tenth of it, or three times it), so the grouping does
# not depend on scheduling noise; we check grouping, not times.
UNIT = 0.01  # seconds per model second below
real_gaps = st.lists(st.sampled_from([0, 1, 30]), min_size=1, max_size=6)


@given(gap_list=real_gaps)
@settings(max_examples=6, deadline=None)
def test_the_real_clock_groups_bursts_like_the_fake_one(gap_list: list[int]) -> None:
    wait = 10  # model seconds; real window 0.1 s
    times = [float(sum(gap_list[: i + 1])) for i in range(len(gap_list))]
    expected = [batch for _, batch in expected_runs(times, wait, None)]
    assert [
        batch for _, batch in observed_runs(Debouncer, gap_list, wait, None)
    ] == expected

    clock = SystemClock()
    runs: list[list[int]] = []
    done = threading.Event()
    debouncer = Debouncer(
        lambda batch: (runs.append(list(batch)), done.set()),
        wait=wait * UNIT,
        clock=clock,
    )
    for i, gap in enumerate(gap_list):
        time.sleep(gap * UNIT)
        debouncer.trigger(i)
    deadline = time.monotonic() + DEADLOCK
    while debouncer.pending or debouncer.running:
        assert time.monotonic() < deadline, "the real-clock debouncer never settled"
        time.sleep(UNIT)
    assert runs == expected, (
        f"real clock grouped {runs}, the model says {expected} (gaps {gap_list})"
    )
    # --8<-- [end:real-clock]
