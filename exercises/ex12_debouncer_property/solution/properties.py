"""Properties of a trailing-edge debouncer, for any stream of triggers: the tests that
catch the bugs.

Exercise 12, solved. The strongest property is a model: compute, from the gaps
alone, exactly which runs a trailing-edge debouncer must make (the bursts,
each at its last trigger + wait, with its items in order) and compare. The
smaller properties say the same things one at a time, so that a failure names
the broken promise.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

from dualqueue import FakeClock
from hypothesis import given
from hypothesis import strategies as st

Run = tuple[float, list[Any]]

# Gaps between triggers, in whole seconds: exact arithmetic, so times can be compared
# with ==.
gaps = st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=25)
waits = st.integers(min_value=1, max_value=5)


def drive(make_debouncer: Callable[..., Any], gaps: list[int], wait: int) -> list[Run]:
    """Trigger items 0, 1, 2... with ``gaps[i]`` seconds of fake time before item i;
    return the runs.

    Each run is (the fake time it ran at, the batch it got). Runs happen inline,
    inside ``clock.advance()``, because the debouncer has no pool.
    """
    clock = FakeClock()
    runs: list[Run] = []
    debouncer = make_debouncer(
        lambda batch: runs.append((clock.now(), list(batch))), wait=wait, clock=clock
    )
    for item, gap in enumerate(gaps):
        clock.advance(gap)
        debouncer.trigger(item)
    clock.advance(wait)  # the last burst's window ends
    return runs


# --8<-- [start:model]
def bursts(gaps: list[int], wait: int) -> list[Run]:
    """The model: maximal groups of triggers whose gaps are shorter than ``wait``, each
    run at last + wait.

    A gap of exactly ``wait`` ends a burst: the window closes at that instant,
    and the clock runs what falls due before the next trigger arrives.
    """
    runs: list[Run] = []
    now = 0
    for item, gap in enumerate(gaps):
        now += gap
        if runs and gap < wait and item > 0:
            runs[-1][1].append(item)
            runs[-1] = (now + wait, runs[-1][1])
        else:
            runs.append((now + wait, [item]))
    return runs
# --8<-- [end:model]


# --8<-- [start:tests]
@given(gaps=gaps, wait=waits)
def test_the_runs_are_exactly_the_bursts(
    make_debouncer: Callable[..., Any], gaps: list[int], wait: int
) -> None:
    assert drive(make_debouncer, gaps, wait) == bursts(gaps, wait)


@given(gaps=gaps, wait=waits)
def test_every_item_is_delivered_exactly_once_in_order(
    make_debouncer: Callable[..., Any], gaps: list[int], wait: int
) -> None:
    runs = drive(make_debouncer, gaps, wait)
    assert [item for _, batch in runs for item in batch] == list(range(len(gaps)))


@given(gaps=gaps, wait=waits)
def test_each_run_comes_exactly_wait_after_its_last_trigger_and_never_sooner(
    make_debouncer: Callable[..., Any], gaps: list[int], wait: int
) -> None:
    arrivals = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    for at, batch in drive(make_debouncer, gaps, wait):
        assert batch, "a run with an empty batch"
        assert at == arrivals[batch[-1]] + wait
        for earlier, later in pairwise(batch):
            assert arrivals[later] - arrivals[earlier] < wait, (
                "two triggers a full window apart share a run"
            )
# --8<-- [end:tests]
