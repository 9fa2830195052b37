"""Properties of a trailing-edge debouncer, for any stream of triggers: your hypothesis
tests.

Exercise 12. Each ``test_*`` function here is a hypothesis test whose first
parameter, ``make_debouncer``, is the debouncer class under test (called like
``dualqueue.Debouncer``: ``make_debouncer(fn, wait=..., clock=...)``). The
checks call your tests with the real ``Debouncer`` (they must pass) and with
five broken ones (each must make at least one of your tests fail).

The test below checks that every item is delivered, as a set. Most of the
broken debouncers deliver every item at least once... Write the properties
that catch them all (see README.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dualqueue import FakeClock
from hypothesis import given
from hypothesis import strategies as st

Run = tuple[float, list[Any]]

# --8<-- [start:drive]
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
# --8<-- [end:drive]


# --8<-- [start:tests]
@given(gaps=gaps, wait=waits)
def test_every_item_is_delivered(
    make_debouncer: Callable[..., Any], gaps: list[int], wait: int
) -> None:
    runs = drive(make_debouncer, gaps, wait)
    delivered = {item for _, batch in runs for item in batch}
    assert delivered == set(range(len(gaps)))


# TODO: write the properties that catch the five broken debouncers (see README.md).
# --8<-- [end:tests]
