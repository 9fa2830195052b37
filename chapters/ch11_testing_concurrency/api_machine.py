"""Concurrent use of the API itself: a state machine whose rules run on several threads.

The other machine of this chapter drives one debouncer from one thread. A web
process does worse to the core: two signal handlers or server hooks shut the
same system down at once, the status page takes snapshots while a request
creates a debouncer, a test joins while a debouncer's follow-up moves from the
clock to a pool, a deploy shuts down while retries and debounced runs are in
flight. Each rule below does one of those, with its calls started together on
threads behind a barrier (the barrier makes them overlap; which interleaving
happens is not under the test's control, so every invariant is one that must
hold in *every* interleaving).

The model is what was accepted: every task submitted without an exception has a
name of its own (``api-3-17``), every item triggered without an exception is a
number. After every step:

* each pool's snapshot keeps ``submitted == queued + running + succeeded +
  failed + dropped``, and each report's books balance;

and after ``settle`` (gates opened, everything joined):

* every accepted task finished exactly once, or is named as dropped in exactly
  one report, never both;
* every accepted item was delivered exactly once, or counted as dropped by its
  debouncer.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from dualqueue import PoolClosedError, Retry, ShutdownReport, SystemClock
from dualqueue.pool import live_pools
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from .hostile import GRACE, HANG, Subject

__all__ = ["api_machine"]

CLOCK = SystemClock()
WAIT = 0.002  # the debouncers' quiet window, real seconds


# --8<-- [start:together]
def together(*calls: Callable[[], object]) -> list[object]:
    """Run ``calls`` at once on threads behind a barrier; their results, in order.

    An exception a call raised is returned in its place (the rule judges it); a
    call that has not returned after ``HANG`` seconds fails the step as a deadlock.
    """
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        barrier.wait(HANG)
        try:
            results[i] = call()
        except BaseException as exc:  # handed to the rule
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG + GRACE)
        assert not thread.is_alive(), "a concurrent API call never returned: a deadlock"
    return results


# --8<-- [end:together]


class Named:
    """A task with a name of its own; records that it finished."""

    def __init__(self, name: str, world: World, gate: threading.Event | None) -> None:
        self.task_name = name
        self.world, self.gate = world, gate
        self.attempts = 0

    def __call__(self) -> None:
        self.attempts += 1
        if self.gate is not None:
            self.gate.wait(HANG)
        with self.world.lock:
            self.world.finished[self.task_name] += 1


class World:
    """One system and what the machine has seen it accept."""

    def __init__(self, n: int, subject: Subject, general: int, site: int) -> None:
        pools = {
            name: subject.pool(name, workers=w, clock=CLOCK)
            for name, w in (("general", general), ("site", site))
        }
        self.system = subject.system(clock=CLOCK, **pools)
        self.n = n
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.accepted: list[str] = []
        self.finished: Counter[str] = Counter()
        self.items: list[int] = []
        self.delivered: list[int] = []
        self.reports: list[ShutdownReport] = []
        self.serial = 0
        self.debouncer = self.system.debouncer(
            f"index-{n}", self.deliver, wait=WAIT, pool="general"
        )

    def deliver(self, batch: list[int]) -> None:
        with self.lock:
            self.delivered.extend(batch)

    def submit(self, queue: str, kind: str) -> None:
        with self.lock:
            self.serial += 1
            name = f"api-{self.n}-{self.serial}"
        task: Callable[[], None] = Named(
            name, self, self.gate if kind == "gated" else None
        )
        if kind == "retried":
            task = Retry(attempts=2, base_delay=WAIT, max_delay=WAIT)(FailsOnce(task))
        try:
            self.system.submit(queue, task)
        except PoolClosedError:
            return  # refused at the caller: never accepted, not owed
        with self.lock:
            self.accepted.append(name)

    def trigger(self) -> None:
        with self.lock:
            self.serial += 1
            item = self.n * 1_000_000 + self.serial
        try:
            self.debouncer.trigger(item)
        except PoolClosedError:
            return
        with self.lock:
            self.items.append(item)

    def shutdown(self, timeout: float) -> None:
        report = self.system.shutdown(timeout=timeout)
        with self.lock:
            self.reports.append(report)


class FailsOnce:
    """Wraps a ``Named`` task: the first attempt raises, the retry runs it."""

    def __init__(self, task: Named) -> None:
        self.task, self.task_name = task, task.task_name
        self.failed = False

    def __call__(self) -> None:
        if not self.failed:
            self.failed = True
            raise TimeoutError("the first attempt times out")
        self.task()


def raise_any(
    results: list[object], allowed: tuple[type[BaseException], ...] = ()
) -> None:
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, allowed):
            raise result


# --8<-- [start:machine]
REFERENCE = Subject()


def api_machine(subject: Subject = REFERENCE) -> type[RuleBasedStateMachine]:
    """The state machine class for the classes in ``subject``."""

    class ApiMachine(RuleBasedStateMachine):
        worlds = Bundle("worlds")

        def __init__(self) -> None:
            super().__init__()
            self.all: list[World] = []

        def teardown(self) -> None:
            for world in self.all:
                world.gate.set()
                if not world.system["general"].closed:
                    world.system.shutdown(timeout=HANG)

        @rule(
            target=worlds,
            general=st.integers(1, 2),
            site=st.integers(1, 2),
        )
        def create_while_others_look(self, general: int, site: int) -> World:
            made: list[World] = []
            n = len(self.all)
            results = together(
                lambda: made.append(World(n, subject, general, site)),
                lambda: [w.system.snapshot() for w in list(self.all)],
                lambda: [p.snapshot() for p in live_pools()],
            )
            raise_any(results)
            self.all.append(made[0])
            return made[0]

        @rule(
            world=worlds,
            kinds=st.lists(st.sampled_from(["quick", "gated", "retried"]), max_size=4),
            queue=st.sampled_from(["general", "site"]),
        )
        def submit_from_two_threads(
            self, world: World, kinds: list[str], queue: str
        ) -> None:
            raise_any(
                together(
                    lambda: [world.submit(queue, k) for k in kinds],
                    lambda: [world.submit("general", k) for k in reversed(kinds)],
                )
            )

        @rule(world=worlds, n=st.integers(1, 4))
        def trigger_flush_and_join(self, world: World, n: int) -> None:
            results = together(
                lambda: [world.trigger() for _ in range(n)],
                lambda: world.debouncer.flush(),
                lambda: world.system.join(timeout=0.01),
            )
            raise_any(results)

        @rule(
            world=worlds,
            timeouts=st.tuples(st.sampled_from([0.0, 0.01]), st.just(0.01)),
        )
        def two_shutdowns_at_once(
            self, world: World, timeouts: tuple[float, float]
        ) -> None:
            results = together(
                lambda: world.shutdown(timeouts[0]),
                lambda: world.shutdown(timeouts[1]),
                lambda: world.trigger(),
                lambda: world.submit("site", "retried"),
            )
            raise_any(results)

        @rule(world=worlds)
        def open_the_gates(self, world: World) -> None:
            world.gate.set()

        @invariant()
        def every_picture_and_every_report_balances(self) -> None:
            for world in self.all:
                for name, s in world.system.snapshot()["pools"].items():
                    total = s["queued"] + s["running"] + s["succeeded"]
                    total += s["failed"] + s["dropped"]
                    assert s["submitted"] == total, (
                        f"pool {name} breaks submitted == queued + running + "
                        f"succeeded + failed + dropped: {s}"
                    )
                for report in list(world.reports):
                    for part in (report, *report.pools.values()):
                        books = (
                            part.finished + len(part.dropped) + len(part.still_running)
                        )
                        assert books == part.queued + part.running, f"books: {part}"

        @precondition(lambda self: self.all)
        @rule()
        def settle(self) -> None:
            """Open every gate, wait for rest: every task and item is accounted for."""
            for world in self.all:
                world.gate.set()
                world.debouncer.flush()
                assert world.system.join(timeout=HANG), "the system never settled"
                check_accounts(world)

    # --8<-- [end:machine]
    ApiMachine.__name__ = ApiMachine.__qualname__ = (
        f"ApiMachine[{subject.pool.__name__}]"
    )
    return ApiMachine


# --8<-- [start:accounts]
def check_accounts(world: World) -> None:
    """Every accepted task finished once or is named dropped once; every item too."""
    named = Counter(
        name
        for report in world.reports
        for part in report.pools.values()
        for name in part.dropped
        if name.startswith("api-")
    )
    twice = [name for name, k in named.items() if k > 1]
    assert not twice, f"named as dropped in more than one report: {twice}"
    # A task still running at a deadline is left to its daemon thread: if that attempt
    # then fails, no retry follows (the pool is stopping), and it never finishes.
    abandoned = {
        name
        for report in world.reports
        for part in report.pools.values()
        for name in part.still_running
    }
    for name in world.accepted:
        ran, dropped = world.finished[name], named[name]
        left = ran == dropped == 0 and name in abandoned
        assert ran + dropped == 1 or left, (
            f"{name}: finished {ran} time(s), named dropped {dropped}"
        )
        assert not (dropped and name in abandoned), f"{name}: dropped and running"
    assert set(named) <= set(world.accepted), "a report names a task never accepted"
    counted = world.debouncer.snapshot()["dropped"]
    delivered = world.delivered
    assert len(set(delivered)) == len(delivered), "an item was delivered twice"
    assert len(delivered) + counted == len(world.items), (
        f"{len(world.items)} items accepted, {len(delivered)} delivered, "
        f"{counted} counted as dropped"
    )
    # Nothing here cancels: an item was dropped by a shutdown, which names its run.
    runs = [n for r in world.reports for p in r.pools.values() for n in p.dropped]
    if counted:
        assert any(world.debouncer.name in n for n in runs), (
            f"{counted} item(s) dropped at shutdown, "
            f"and no report names the run: {runs}"
        )


# --8<-- [end:accounts]
