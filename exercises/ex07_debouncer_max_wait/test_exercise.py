"""Exercise 7 checks: max_wait bounds how long a never-quiet stream can postpone a run.

Every check drives the debouncer with a ``FakeClock``: time moves only when the
test says so, and ``advance()`` runs whatever falls due, in order, inline. No
check sleeps, and none depends on the machine's speed.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from dualqueue import FakeClock
from hypothesis import given
from hypothesis import strategies as st

from exercises.support import explain
from exercises.target import load

debounce = load("ex07_debouncer_max_wait", "debounce")
Debouncer = debounce.Debouncer

Run = tuple[float, list[Any]]


class Recorder:
    """The debouncer's fn: records (time of the run, batch)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.runs: list[Run] = []

    def __call__(self, batch: list[Any]) -> None:
        self.runs.append((self.clock.now(), list(batch)))


def drive(gaps: list[float], wait: float, max_wait: float | None) -> list[Run]:
    """Trigger items 0, 1, 2... with ``gaps[i]`` seconds before item i; then let everything run."""
    clock = FakeClock()
    record = Recorder(clock)
    debouncer = Debouncer(record, wait=wait, max_wait=max_wait, clock=clock)
    for item, gap in enumerate(gaps):
        clock.advance(gap)
        debouncer.trigger(item)
    clock.advance(wait + (max_wait or 0) + 1)
    return record.runs


def expected_runs(gaps: list[float], wait: float, max_wait: float | None) -> list[Run]:
    """The specification, computed with the same arithmetic as the FakeClock's."""
    runs: list[Run] = []
    batch: list[Any] = []
    now = 0.0
    first = due = None
    for item, gap in enumerate(gaps):
        now += gap
        if due is not None and now >= due:  # the window closed before this trigger
            runs.append((due, batch))
            batch, first, due = [], None, None
        if first is None:
            first = now
        batch.append(item)
        due = now + wait if max_wait is None else min(now + wait, first + max_wait)
    if batch:
        runs.append((due, batch))
    return runs


IGNORED = (
    "max_wait is ignored: the run is due `wait` after each trigger whatever max_wait says. The due time must be "
    "min(now + wait, first trigger of the batch + max_wait)"
)


def usually(gaps: list[float], wait: float, max_wait: float | None, runs: list[Run], otherwise: str) -> str:
    """IGNORED if the runs are exactly those of a debouncer without max_wait, else ``otherwise``."""
    return IGNORED if max_wait is not None and runs == expected_runs(gaps, wait, None) else otherwise


def shown(runs: list[Run]) -> str:
    return "[" + ", ".join(f"at {t:g}: items {b[0]}..{b[-1]}" if len(b) > 2 else f"at {t:g}: {b}"
                           for t, b in runs) + "]"


# --8<-- [start:stream]
def test_a_stream_that_never_goes_quiet_still_runs_every_max_wait_seconds() -> None:
    # An upload every second for 30 s; wait=3 never elapses, max_wait=10 must.
    gaps = [0.0] + [1.0] * 29
    runs = drive(gaps, wait=3, max_wait=10)
    expected = [(10, list(range(10))), (20, list(range(10, 20))), (30, list(range(20, 30)))]
    assert runs == expected, explain(
        expected=f"runs {shown(expected)}",
        got=f"runs {shown(runs)}",
        usually=usually(gaps, 3, 10, runs, "max_wait is counted from the wrong trigger, or the batch is not "
                        "started afresh after a run"),
    )
# --8<-- [end:stream]


def test_a_short_burst_still_runs_at_its_last_trigger_plus_wait() -> None:
    runs = drive([0, 1, 1], wait=3, max_wait=10)
    assert runs == [(5, [0, 1, 2])], explain(
        expected="one run at 5 (last trigger at 2, plus wait=3) with [0, 1, 2]",
        got=f"runs {shown(runs)}",
        usually="max_wait is used instead of wait, or the window is not restarted by each trigger",
    )


def test_without_max_wait_the_window_restarts_for_as_long_as_the_stream_lasts() -> None:
    runs = drive([0] + [1] * 29, wait=3, max_wait=None)
    assert runs == [(32, list(range(30)))], explain(
        expected="one run at 32 (last trigger at 29, plus wait=3) with all 30 items",
        got=f"runs {shown(runs)}",
        usually="max_wait=None should change nothing: the due time is now + wait",
    )


def test_after_a_max_wait_run_the_next_batch_gets_a_max_wait_of_its_own() -> None:
    # Trigger at 0 and every 2 s; max_wait=5 runs at 5 with [0,1,2]; the next batch starts at 6.
    gaps = [0.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    runs = drive(gaps, wait=3, max_wait=5)
    expected = [(5, [0, 1, 2]), (11, [3, 4, 5])]
    assert runs == expected, explain(
        expected=f"runs {shown(expected)}",
        got=f"runs {shown(runs)}",
        usually=usually(gaps, 3, 5, runs, "the first trigger's time is not forgotten after a run, so the next "
                        "batch's deadline is already in the past (or is never set)"),
    )


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=30),
    wait=st.integers(min_value=1, max_value=6),
    extra=st.one_of(st.none(), st.integers(min_value=0, max_value=15)),
)
def test_for_any_stream_runs_are_the_bursts_cut_at_max_wait_and_no_item_waits_longer(
    gaps: list[int], wait: int, extra: int | None
) -> None:
    max_wait = None if extra is None else wait + extra
    times = [float(g) for g in gaps]
    runs = drive(times, wait=wait, max_wait=max_wait)
    expected = expected_runs(times, wait, max_wait)
    arrivals = [float(sum(gaps[: i + 1])) for i in range(len(gaps))]
    if max_wait is not None:
        late = [(item, t - arrivals[item]) for t, batch in runs for item in batch if t - arrivals[item] > max_wait]
        assert not late, explain(
            expected=f"no item to wait longer than max_wait={max_wait} for its run (wait={wait}, gaps={gaps})",
            got=f"item {late[0][0]} waited {late[0][1]:g} s",
            usually=usually(times, wait, max_wait, runs, "max_wait is counted from the last trigger instead of "
                            "the first"),
        )
    assert runs == expected, explain(
        expected=f"runs {shown(expected)} for gaps={gaps}, wait={wait}, max_wait={max_wait}",
        got=f"runs {shown(runs)}",
        usually=usually(times, wait, max_wait, runs, "a run at the wrong time (check min(now + wait, first + "
                        "max_wait)), or items lost or repeated between batches"),
    )


@pytest.mark.parametrize("max_wait", [2, -1, math.nan, math.inf])
def test_a_max_wait_shorter_than_wait_or_not_a_finite_number_is_refused(max_wait: float) -> None:
    try:
        Debouncer(print, wait=3, max_wait=max_wait, clock=FakeClock())
    except ValueError:
        return
    raise AssertionError(explain(
        expected=f"Debouncer(wait=3, max_wait={max_wait!r}) to raise ValueError when it is made",
        got="it was made",
        usually="max_wait is not checked: it must be None, or a finite number >= wait",
    ))


def test_max_wait_equal_to_wait_is_allowed() -> None:
    try:
        Debouncer(print, wait=3, max_wait=3, clock=FakeClock())
    except ValueError as exc:
        raise AssertionError(explain(
            expected="Debouncer(wait=3, max_wait=3) to be accepted",
            got=f"ValueError: {exc}",
            usually="the check is max_wait > wait where it should be max_wait >= wait",
        )) from None
