"""Exercise 7 checks: max_wait bounds how long a never-quiet stream can postpone a run.

Every check drives the debouncer with a ``FakeClock``: time moves only when the
test says so, and ``advance()`` runs whatever falls due, in order, inline. No
check sleeps, and none depends on the machine's speed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from dualqueue import FakeClock, Handle
from hypothesis import given
from hypothesis import strategies as st

from exercises.explore import locks_held, preemptions
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


PAST = (
    "trigger computed a due time that was already past, and the clock refuses a "
    "negative delay. On a clock that is never late, that means a stale deadline: the "
    "batch's first-trigger time is not forgotten after a run (or is read before the "
    "lock, from the batch that just ran), so the next batch's deadline is the old one"
)


def drive(gaps: list[float], wait: float, max_wait: float | None) -> list[Run]:
    """Trigger items 0, 1, 2... with ``gaps[i]`` seconds before item i; then let
    everything run."""
    clock = FakeClock()
    record = Recorder(clock)
    debouncer = Debouncer(record, wait=wait, max_wait=max_wait, clock=clock)
    for item, gap in enumerate(gaps):
        clock.advance(gap)
        try:
            debouncer.trigger(item)
        except ValueError as exc:  # the clock's own error, explained
            raise AssertionError(
                explain(
                    expected=f"trigger({item}) at {clock.now():g} to schedule the run "
                    f"(wait={wait}, max_wait={max_wait}, gaps={gaps})",
                    got=f"the clock raised ValueError: {exc}",
                    usually=PAST,
                )
            ) from None
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
    "these are exactly the runs of a debouncer without max_wait: the deadline never "
    "cut a batch. Either max_wait is ignored, or it is counted from each trigger (so "
    "it restarts with the quiet window, and `wait` always comes first) instead of from "
    "the first trigger of the batch"
)


def usually(
    gaps: list[float],
    wait: float,
    max_wait: float | None,
    runs: list[Run],
    otherwise: str,
) -> str:
    """IGNORED if the runs are exactly those of a debouncer without max_wait, else
    ``otherwise``."""
    return (
        IGNORED
        if max_wait is not None and runs == expected_runs(gaps, wait, None)
        else otherwise
    )


def shown(runs: list[Run]) -> str:
    return (
        "["
        + ", ".join(
            f"at {t:g}: items {b[0]}..{b[-1]}" if len(b) > 2 else f"at {t:g}: {b}"
            for t, b in runs
        )
        + "]"
    )


# --8<-- [start:stream]
def test_a_stream_that_never_goes_quiet_still_runs_every_max_wait_seconds() -> None:
    # An upload every second for 30 s; wait=3 never elapses, max_wait=10 must.
    gaps = [0.0] + [1.0] * 29
    runs = drive(gaps, wait=3, max_wait=10)
    expected = [
        (10, list(range(10))),
        (20, list(range(10, 20))),
        (30, list(range(20, 30))),
    ]
    assert runs == expected, explain(
        expected=f"runs {shown(expected)}",
        got=f"runs {shown(runs)}",
        usually=usually(
            gaps,
            3,
            10,
            runs,
            "max_wait is counted from the wrong trigger, or the batch is not started "
            "afresh after a run",
        ),
    )
# --8<-- [end:stream]


def test_a_short_burst_still_runs_at_its_last_trigger_plus_wait() -> None:
    runs = drive([0, 1, 1], wait=3, max_wait=10)
    assert runs == [(5, [0, 1, 2])], explain(
        expected="one run at 5 (last trigger at 2, plus wait=3) with [0, 1, 2]",
        got=f"runs {shown(runs)}",
        usually="max_wait is used instead of wait, or the window is not restarted by "
        "each trigger",
    )


def test_without_max_wait_the_window_restarts_for_as_long_as_the_stream_lasts() -> None:
    runs = drive([0] + [1] * 29, wait=3, max_wait=None)
    assert runs == [(32, list(range(30)))], explain(
        expected="one run at 32 (last trigger at 29, plus wait=3) with all 30 items",
        got=f"runs {shown(runs)}",
        usually="max_wait=None should change nothing: the due time is now + wait",
    )


def test_after_a_max_wait_run_the_next_batch_gets_a_max_wait_of_its_own() -> None:
    # Trigger at 0 and every 2 s; max_wait=5 runs at 5 with [0,1,2]; the next batch
    # starts at 6.
    gaps = [0.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    runs = drive(gaps, wait=3, max_wait=5)
    expected = [(5, [0, 1, 2]), (11, [3, 4, 5])]
    assert runs == expected, explain(
        expected=f"runs {shown(expected)}",
        got=f"runs {shown(runs)}",
        usually=usually(
            gaps,
            3,
            5,
            runs,
            "the first trigger's time is not forgotten after a run, so the next "
            "batch's deadline is already in the past (or is never set)",
        ),
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
        late = [
            (item, t - arrivals[item])
            for t, batch in runs
            for item in batch
            if t - arrivals[item] > max_wait
        ]
        assert not late, explain(
            expected=f"no item to wait longer than max_wait={max_wait} for its run "
            f"(wait={wait}, gaps={gaps})",
            got=f"item {late[0][0]} waited {late[0][1]:g} s",
            usually=usually(
                times,
                wait,
                max_wait,
                runs,
                "max_wait is counted from the last trigger instead of the first",
            ),
        )
    assert runs == expected, explain(
        expected=f"runs {shown(expected)} for gaps={gaps}, wait={wait}, "
        f"max_wait={max_wait}",
        got=f"runs {shown(runs)}",
        usually=usually(
            times,
            wait,
            max_wait,
            runs,
            "a run at the wrong time (the quiet window and the deadline: whichever "
            "ends first), or items lost or repeated between batches",
        ),
    )


@pytest.mark.parametrize(
    ("wait", "max_wait"),
    [(3, 2), (3, -1), (3, math.nan), (3, math.inf), (1, True), (3, "10")],
    ids=["shorter", "negative", "nan", "inf", "True", "str"],
)
def test_a_max_wait_shorter_than_wait_or_not_a_finite_number_is_refused(
    wait: float, max_wait: object
) -> None:
    try:
        Debouncer(print, wait=wait, max_wait=max_wait, clock=FakeClock())
    except ValueError:
        return
    except Exception as exc:
        raise AssertionError(
            explain(
                expected=f"Debouncer(wait={wait}, max_wait={max_wait!r}) to raise "
                "ValueError, as the README promises",
                got=f"{type(exc).__name__}: {exc}",
                usually="max_wait is handed to math (isfinite, a comparison) before "
                "its type is checked, so Python raises its own error: check that it is "
                "a number (and not a bool) first",
            )
        ) from None
    raise AssertionError(
        explain(
            expected=f"Debouncer(wait={wait}, max_wait={max_wait!r}) to raise "
            "ValueError when it is made",
            got="it was made",
            usually="True is an int (and a finite number, to math.isfinite): reject "
            "bools explicitly"
            if isinstance(max_wait, bool)
            else "max_wait is not checked: it must be None, or a finite number >= wait",
        )
    )


def test_max_wait_equal_to_wait_is_allowed() -> None:
    try:
        Debouncer(print, wait=3, max_wait=3, clock=FakeClock())
    except ValueError as exc:
        raise AssertionError(explain(
            expected="Debouncer(wait=3, max_wait=3) to be accepted",
            got=f"ValueError: {exc}",
            usually="the check is max_wait > wait where it should be max_wait >= wait",
        )) from None


class ManualClock:
    """A clock whose time the check sets, and whose due calls run only when the check
    says so.

    ``run_due()`` is what the clock's thread does when it wakes up; calling it
    late, or from another thread in the middle of a trigger, is how the checks
    play a clock thread that is slow, or that fires at the worst moment.
    """

    def __init__(self) -> None:
        self.t = 0.0
        self.handles: list[Handle] = []

    def now(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1_700_000_000.0 + self.t

    def call_later(self, delay: float, fn: Callable[[], object]) -> Handle:
        if not delay >= 0:
            raise ValueError(f"delay must be a number >= 0, got {delay!r}")
        handle = Handle(self.t + delay, fn)
        self.handles.append(handle)
        return handle

    def run_due(self) -> None:
        while due := [h for h in self.handles if not h.cancelled and h.when <= self.t]:
            handle = min(due, key=lambda h: h.when)
            self.handles.remove(handle)
            handle.fn()

    def run_all(self) -> None:
        """Let time run on until nothing is scheduled."""
        while pending := [h for h in self.handles if not h.cancelled]:
            self.t = max(self.t, min(h.when for h in pending))
            self.run_due()


@dataclass
class Stream:
    """A debouncer (wait=3, max_wait=5) on a ManualClock, with triggers 0, 1, 2 at 0, 2
    and 4: due at 5."""

    clock: ManualClock = field(default_factory=ManualClock)
    runs: list[Run] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    debouncer: Any = None

    def __post_init__(self) -> None:
        self.debouncer = Debouncer(
            lambda batch: self.runs.append((self.clock.now(), list(batch))),
            wait=3,
            max_wait=5,
            clock=self.clock,
        )
        for item, at in enumerate((0.0, 2.0, 4.0)):
            self.clock.t = at
            self.debouncer.trigger(item)

    def trigger(self, item: int) -> None:
        try:
            self.debouncer.trigger(item)
        except Exception as exc:  # reported by the check, with what it usually means
            self.errors.append(exc)


def test_a_trigger_after_the_deadline_but_before_the_clock_ran_the_batch_loses_nothing() -> (
    None
):
    # The clock's thread is late (a slow callback ran before): at 5.5 the batch due at 5
    # has not run yet, and a trigger arrives. It must not fail, and every item must
    # still be delivered.
    stream = Stream()
    stream.clock.t = 5.5
    stream.trigger(3)
    stream.clock.run_all()
    delivered = [item for _, batch in stream.runs for item in batch]
    state = f"delivered {delivered}, pending={stream.debouncer.pending}"
    assert (
        not stream.errors and delivered == [0, 1, 2, 3] and not stream.debouncer.pending
    ), explain(
        expected="trigger(3) at 5.5 to be accepted, and items [0, 1, 2, 3] delivered "
        "once each",
        got=f"trigger raised {stream.errors[0]!r}; {state}" if stream.errors else state,
        usually="the batch's deadline had already passed when trigger ran, so the "
        "delay until it came out negative (in the past), which the clock refuses; and "
        "the item was added, the old timer cancelled, and no new one made: it waits "
        "forever. An overdue batch should run at once (a delay of 0)",
    )


def test_a_trigger_racing_the_clock_thread_gives_the_next_batch_its_own_deadline() -> (
    None
):
    # At 5 the batch [0, 1, 2] falls due, and trigger(3) arrives at that same moment.
    # The clock's thread runs the batch while trigger is stopped before each of its
    # instructions in turn.
    explored = preemptions(Stream, lambda s: (setattr(s.clock, "t", 5.0), s.trigger(3)),
                           lambda s: s.clock.run_due(), files=[debounce.__file__],
                           blocked=lambda s: locks_held(s.debouncer))
    legal = ([(5.0, [0, 1, 2, 3])], [(5.0, [0, 1, 2]), (8.0, [3])])
    wrong = []
    for p in explored:
        p.subject.clock.run_all()
        if p.subject.errors or p.subject.runs not in legal:
            wrong.append(p)
    shown = wrong[0] if wrong else None
    raised = (
        f", trigger raised {shown.subject.errors[0]!r}"
        if shown and shown.subject.errors
        else ""
    )
    assert explored and shown is None, explain(
        expected="runs [(5, [0, 1, 2, 3])] (trigger first) or [(5, [0, 1, 2]), (8, "
        "[3])] (the clock first): item 3 starts a batch with a deadline of its own",
        got=f"{shown.subject.runs}{raised} when trigger was stopped at {shown.where} "
        "and the clock ran the batch"
        if shown
        else "nothing explored",
        usually=IGNORED
        if shown and shown.subject.runs == [(8.0, [0, 1, 2, 3])]
        else "trigger reads the batch's first-trigger time (or the deadline made from "
        "it) before taking the lock, a check-then-act: the clock runs that batch in "
        "between, and the new batch gets the old, past deadline. Read and update the "
        "batch's state in one locked block",
    )
