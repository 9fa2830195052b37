"""The debounce property, built in three steps: drive it on a fake clock, model it, let
hypothesis choose.

Step 1, ``runs_on_fake_clock``: a debouncer on a ``FakeClock`` is an ordinary,
deterministic function from "triggers at these times" to "runs at these times
with these items". No thread, no sleep: ``advance()`` runs whatever falls due.

Step 2, ``bursts``: the specification as a few lines of plain Python that
nobody could mistake for the implementation. A burst is a maximal group of
triggers in which each one arrives before the previous trigger's quiet window
(``wait``) has closed (and, with ``max_wait``, before the group is ``max_wait``
old). Each burst is one run, at its closing time, with its items in order.

Step 3, ``burst_property``: hypothesis chooses the gaps and the window; the
property says the debouncer's runs *are* the model's bursts, exactly. The
function takes the debouncer class as an argument, so the same property runs
against the reference and against ``chapters.broken.FixedWindowDebouncer``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from dualqueue import Debouncer, FakeClock
from hypothesis import given, settings
from hypothesis import strategies as st

__all__ = [
    "Run",
    "burst_property",
    "bursts",
    "check_runs_are_the_bursts",
    "runs_on_fake_clock",
]

DebouncerClass = Callable[..., Debouncer]


class Run(NamedTuple):
    at: float  # when the run happened (fake seconds)
    items: list[int]  # the trigger indices it received, in order


# --8<-- [start:drive]
def runs_on_fake_clock(
    make: DebouncerClass, gaps: list[int], wait: float, max_wait: float | None = None
) -> list[Run]:
    """Trigger item ``i`` after ``gaps[i]`` seconds of fake time, then let everything
    fall due."""
    clock = FakeClock()
    runs: list[Run] = []
    debouncer = make(
        lambda batch: runs.append(Run(clock.now(), list(batch))),
        wait=wait,
        max_wait=max_wait,
        clock=clock,
    )
    for item, gap in enumerate(gaps):
        clock.advance(gap)
        debouncer.trigger(item)
    clock.advance(wait + (max_wait or 0) + 1)  # past any window that can still be open
    return runs
# --8<-- [end:drive]


# --8<-- [start:model]
def bursts(times: list[float], wait: float, max_wait: float | None = None) -> list[Run]:
    """The specification: one run per burst of triggers at ``times``, at the moment its
    window closes."""

    def closes(first: float, last: float) -> float:
        quiet = last + wait
        return quiet if max_wait is None else min(quiet, first + max_wait)

    runs: list[Run] = []
    items: list[int] = []
    first = last = 0.0
    for item, t in enumerate(times):
        # the window closed before this trigger: that burst ran
        if items and t >= closes(first, last):
            runs.append(Run(closes(first, last), items))
            items = []
        if not items:
            first = t
        last = t
        items.append(item)
    if items:
        runs.append(Run(closes(first, last), items))
    return runs
# --8<-- [end:model]


# --8<-- [start:check]
def check_runs_are_the_bursts(
    make: DebouncerClass, gaps: list[int], wait: int, max_wait: int | None = None
) -> None:
    times = [float(sum(gaps[: i + 1])) for i in range(len(gaps))]
    observed = runs_on_fake_clock(make, gaps, wait, max_wait)
    expected = bursts(times, wait, max_wait)
    assert observed == expected, (
        f"triggers at {times}, wait={wait}: ran {observed}, the bursts are {expected}"
    )
# --8<-- [end:check]


# --8<-- [start:property]
# Whole seconds keep the arithmetic exact; a gap of 0 is two triggers at the same
# instant.
trigger_gaps = st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=25)
windows = st.integers(min_value=1, max_value=20)


def burst_property(
    make: DebouncerClass, *, with_max_wait: bool = False, **options: Any
) -> Callable[[], None]:
    """A hypothesis test: for any gaps and window, ``make``'s runs are exactly the
    bursts.

    ``options`` go to ``hypothesis.settings`` (e.g. ``max_examples``, ``phases``).
    """
    extra = st.integers(min_value=0, max_value=30) if with_max_wait else st.none()

    @settings(deadline=None, **options)
    @given(gaps=trigger_gaps, wait=windows, extra=extra)
    def runs_are_the_bursts(gaps: list[int], wait: int, extra: int | None) -> None:
        check_runs_are_the_bursts(
            make, gaps, wait, None if extra is None else wait + extra
        )

    return runs_are_the_bursts
# --8<-- [end:property]
