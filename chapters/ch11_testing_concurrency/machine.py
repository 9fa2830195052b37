"""A state machine for the debouncer: hypothesis chooses the story, the invariants judge
every step.

A ``@given`` property feeds one input and checks the output. Some bugs only
show in a *sequence*: a trigger that arrives while a run is in flight, a
``cancel`` after a ``flush``, a window that elapses during a run. Hypothesis's
``RuleBasedStateMachine`` generates such sequences from rules (``trigger``,
``wait``, ``finish_run``, ``flush``, ``cancel``), checks the invariants after
every step, and shrinks a failing sequence to a short story.

Everything is deterministic, which hypothesis requires (a failure that does not
reproduce is reported as flaky, not shrunk): time is a ``FakeClock``, and the
debouncer's runs go to a ``StepPool``, a pool whose worker is the test itself. A
run is *in flight* from the moment the debouncer hands it to the pool until the
machine's ``finish_run`` rule runs it, so "a trigger during a run" is a step
hypothesis can choose, not a race to hope for.

The machine keeps a tiny model: the items triggered and not yet handed to a
run, in order. The invariants:

* at most one run is in flight;
* each run gets exactly the oldest waiting items, in order (none lost, none
  twice), and starts no sooner than ``WAIT`` after its last item's trigger
  (unless a ``flush`` asked for it early);
* ``pending`` is true exactly when items wait;
* a waiting batch with no run in flight always has a timer armed (else it
  would wait forever).

And the ``settle`` rule lets all the time in the world pass, after which every
item was delivered once or counted as dropped by ``cancel``. It is a rule, not
a ``teardown``: hypothesis calls ``teardown`` in a ``finally``, so an assertion
there would replace the invariant failure that came first with a vaguer one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from dualqueue import Debouncer, FakeClock, WorkerPool
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

__all__ = ["WAIT", "StepPool", "debouncer_machine"]

WAIT = 10  # the debouncer's quiet window, in fake seconds


# --8<-- [start:step-pool]
class StepPool(WorkerPool):
    """A pool whose one worker is the test: ``submit`` only queues, ``run_next()`` runs
    one task.

    It honours what a debouncer relies on from its pool (a submitted run happens
    later, on someone else's schedule) and nothing more: no thread, no counters.
    """

    def __init__(self, name: str, *, clock: FakeClock) -> None:
        super().__init__(name, workers=1, clock=clock)
        self.waiting: deque[tuple[Callable[..., object], tuple[Any, ...]]] = deque()
        # every submit ever: (when, arguments)
        self.handed_over: list[tuple[float, tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        self.waiting.append((fn, args))
        self.handed_over.append((self.clock.now(), args))

    def run_next(self) -> None:
        fn, args = self.waiting.popleft()
        fn(*args)
# --8<-- [end:step-pool]


# --8<-- [start:machine-rules]
def debouncer_machine(make: Callable[..., Debouncer]) -> type[RuleBasedStateMachine]:
    """The state machine class for debouncers built by ``make`` (the reference, or a
    broken variant)."""

    class DebouncerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clock = FakeClock()
            self.pool = StepPool("index", clock=self.clock)
            self.delivered: list[int] = []  # items the runs received, in order
            self.debouncer = make(
                self.delivered.extend, wait=WAIT, pool=self.pool, clock=self.clock
            )
            # (item, trigger time), every trigger ever
            self.triggered: list[tuple[int, float]] = []
            # the model: triggered, not yet handed to a run
            self.waiting: list[tuple[int, float]] = []
            # runs handed to the pool that the invariants have already judged
            self.checked = 0
            self.dropped: list[int] = []  # items cancel() dropped
            self.early = False  # a flush asked for the next run before its window

        # -- what can happen -------------------------------------------------

        @rule(gap=st.integers(min_value=0, max_value=2 * WAIT))
        def trigger(self, gap: int) -> None:
            self.clock.advance(gap)
            item = len(self.triggered)
            self.triggered.append((item, self.clock.now()))
            self.waiting.append((item, self.clock.now()))
            self.debouncer.trigger(item)

        @rule(seconds=st.integers(min_value=1, max_value=3 * WAIT))
        def wait(self, seconds: int) -> None:
            self.clock.advance(seconds)

        @precondition(lambda self: self.pool.waiting)
        @rule()
        def finish_run(self) -> None:
            self.check_new_runs()  # judge the run before it runs
            self.pool.run_next()
            self.check_new_runs()  # a run it handed over as it ended is its follow-up

        @rule()
        def flush(self) -> None:
            if self.debouncer.flush():
                self.early = True

        @rule()
        def cancel(self) -> None:
            # Items already handed to a run are not the debouncer's to drop.
            self.check_new_runs()
            dropped = self.debouncer.cancel()
            assert dropped == len(self.waiting), (
                f"cancel dropped {dropped}, but {len(self.waiting)} were waiting"
            )
            self.dropped += [item for item, _ in self.waiting]
            self.waiting.clear()
            self.early = False
        # --8<-- [end:machine-rules]

        # --8<-- [start:machine-invariants]
        # -- what must always be true ---------------------------------------

        @invariant()
        def at_most_one_run_in_flight(self) -> None:
            assert len(self.pool.waiting) <= 1, (
                f"{len(self.pool.waiting)} runs in flight at once"
            )

        @invariant()
        def each_run_gets_the_oldest_waiting_items_after_their_window(self) -> None:
            self.check_new_runs()

        @invariant()
        def pending_means_items_wait(self) -> None:
            assert self.debouncer.pending == bool(self.waiting), (
                f"pending={self.debouncer.pending} with {len(self.waiting)} item(s) "
                "waiting"
            )

        @invariant()
        def a_waiting_batch_has_a_timer(self) -> None:
            if self.waiting and not self.pool.waiting:
                assert self.clock.next_due() is not None, (
                    "items wait, no run is in flight, and no timer is armed"
                )

        def check_new_runs(self) -> None:
            for handed_at, (batch,) in self.pool.handed_over[self.checked :]:
                expected = [item for item, _ in self.waiting[: len(batch)]]
                assert batch == expected, (
                    f"a run got {batch}; the oldest waiting items were {expected}"
                )
                # Every run waits out its quiet window, a follow-up too (a trigger
                # during the run restarts the window); only a flushed run starts early.
                if batch and not self.early:
                    last_trigger = self.waiting[len(batch) - 1][1]
                    assert handed_at >= last_trigger + WAIT, (
                        f"a run started at t={handed_at}, "
                        f"{handed_at - last_trigger:g}s after its last trigger"
                    )
                del self.waiting[: len(batch)]
                self.checked += 1
                self.early = False
        # --8<-- [end:machine-invariants]

        # --8<-- [start:machine-settle]
        @rule()
        def settle(self) -> None:
            """Let all the time in the world pass: every item so far was delivered once,
            or dropped."""
            for _ in range(10):
                self.clock.advance(10 * WAIT)
                self.check_new_runs()
                while self.pool.waiting:
                    self.pool.run_next()
                    self.check_new_runs()
            delivered_or_dropped = sorted(self.delivered + self.dropped)
            assert delivered_or_dropped == [item for item, _ in self.triggered], (
                f"delivered {self.delivered} and dropped {self.dropped} of "
                f"{len(self.triggered)} triggered items"
            )
            assert self.delivered == sorted(self.delivered), (
                f"delivered out of order: {self.delivered}"
            )

        # --8<-- [end:machine-settle]

    DebouncerMachine.__name__ = DebouncerMachine.__qualname__ = (
        f"DebouncerMachine[{make.__name__}]"
    )
    return DebouncerMachine
