"""Wrong: the only property is "every item delivered exactly once, in order".

Stronger than the starter's set, and it catches two of the broken
debouncers. But a debouncer that cuts a long burst into several runs still
delivers every item once and in order: grouping and timing are never checked.

Kind: logic
Caught by: test_your_tests_catch_the_broken_debouncer[fixed_window]
Message mentions: FixedWindowDebouncer
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dualqueue import FakeClock
from hypothesis import given
from hypothesis import strategies as st

Run = tuple[float, list[Any]]

# Gaps between triggers, in whole seconds: exact arithmetic, so times can be compared with ==.
gaps = st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=25)
waits = st.integers(min_value=1, max_value=5)


def drive(make_debouncer: Callable[..., Any], gaps: list[int], wait: int) -> list[Run]:
    """Trigger items 0, 1, 2... with ``gaps[i]`` seconds of fake time before item i; return the runs.

    Each run is (the fake time it ran at, the batch it got). Runs happen inline,
    inside ``clock.advance()``, because the debouncer has no pool.
    """
    clock = FakeClock()
    runs: list[Run] = []
    debouncer = make_debouncer(lambda batch: runs.append((clock.now(), list(batch))), wait=wait, clock=clock)
    for item, gap in enumerate(gaps):
        clock.advance(gap)
        debouncer.trigger(item)
    clock.advance(wait)  # the last burst's window ends
    return runs


def bursts(gaps: list[int], wait: int) -> list[Run]:
    """The model: maximal groups of triggers whose gaps are shorter than ``wait``, each run at last + wait.

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


@given(gaps=gaps, wait=waits)
def test_every_item_is_delivered_exactly_once_in_order(
    make_debouncer: Callable[..., Any], gaps: list[int], wait: int
) -> None:
    runs = drive(make_debouncer, gaps, wait)
    assert [item for _, batch in runs for item in batch] == list(range(len(gaps)))
