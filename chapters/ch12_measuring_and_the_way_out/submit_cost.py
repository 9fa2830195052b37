"""What ``submit`` costs the web request, next to the floor and the usual alternative.

The request pays for the enqueue and nothing else, so that is what is timed: a
loop of ``n`` submits of a no-op task, with the consumers held busy (blocked on a
gate) so that they do not compete for the interpreter while the loop runs. Four
ways to hand work to a thread, measured in interleaved rounds in one process:

* ``queue.Queue.put``: the floor for this design (a lock, a deque append, a notify);
* ``WorkerPool.submit``: one pool of the core;
* ``TaskSystem.submit``: the same, behind the pool-name lookup a view uses;
* ``ThreadPoolExecutor.submit``: the standard library's executor, which makes a
  ``Future`` per task.

The result is nanoseconds per submit (median of the rounds) and the ratio to
``queue.Queue.put`` from the same run. Only the ratios travel between machines.
"""

from __future__ import annotations

import queue
import statistics
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from dualqueue import TaskSystem, WorkerPool

from .measure import per_call_ns

__all__ = ["BASELINE", "measure_submit_cost"]

BASELINE = "queue.Queue.put"
DEADLOCK = 30.0  # seconds: a deadlock detector, never a latency claim


def noop() -> None:
    pass


class HeldWorkers:
    """Keep ``workers`` consumer threads busy until ``release()``: they must not run
    during the loop."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)

    def task(self) -> None:
        self.entered.release()
        self.gate.wait(DEADLOCK)

    def hold(
        self, submit: Callable[[Callable[[], None]], object], workers: int
    ) -> None:
        for _ in range(workers):
            submit(self.task)
        for _ in range(workers):
            if not self.entered.acquire(timeout=DEADLOCK):
                raise TimeoutError("a worker never took its blocking task")

    def release(self) -> None:
        self.gate.set()


@dataclass
class Subject:
    """One way to enqueue: a fresh instance per round, its submit loop, and how to drain
    it."""

    make: Callable[[], Any]
    loop: Callable[[Any, int], None]
    hold: Callable[[Any, HeldWorkers], None] = lambda subject, held: None
    drain: Callable[[Any], None] = lambda subject: None
    instance: Any = field(default=None, init=False)
    held: HeldWorkers | None = field(default=None, init=False)

    def setup(self) -> None:
        self.instance, self.held = self.make(), HeldWorkers()
        self.hold(self.instance, self.held)

    def teardown(self) -> None:
        assert self.held is not None
        self.held.release()
        self.drain(
            self.instance
        )  # every submitted no-op runs: nothing is dropped to make this fast


# --8<-- [start:subjects]
def put_loop(q: queue.Queue[Any], n: int) -> None:
    put = q.put
    for _ in range(n):
        put((noop, (), {}))


def pool_loop(pool: WorkerPool, n: int) -> None:
    submit = pool.submit
    for _ in range(n):
        submit(noop)


def system_loop(tasks: TaskSystem, n: int) -> None:
    submit = tasks.submit
    for _ in range(n):
        submit("general", noop)


def executor_loop(executor: ThreadPoolExecutor, n: int) -> None:
    submit = executor.submit
    for _ in range(n):
        submit(noop)


SUBJECTS: dict[str, Callable[[], Subject]] = {
    BASELINE: lambda: Subject(
        queue.Queue, put_loop
    ),  # no consumer at all: the bare cost of a put
    "WorkerPool.submit": lambda: Subject(
        lambda: WorkerPool("general", workers=2),
        pool_loop,
        hold=lambda pool, held: held.hold(pool.submit, 2),
        drain=lambda pool: pool.shutdown(timeout=DEADLOCK),
    ),
    "TaskSystem.submit": lambda: Subject(
        lambda: TaskSystem(general=2, site=10),
        system_loop,
        hold=lambda tasks, held: held.hold(tasks["general"].submit, 2),
        drain=lambda tasks: tasks.shutdown(timeout=DEADLOCK),
    ),
    "ThreadPoolExecutor.submit": lambda: Subject(
        lambda: ThreadPoolExecutor(max_workers=2),
        executor_loop,
        hold=lambda executor, held: held.hold(executor.submit, 2),
        drain=lambda executor: executor.shutdown(),
    ),
}
# --8<-- [end:subjects]


# --8<-- [start:measure]
def measure_submit_cost(
    n: int = 10_000, rounds: int = 3
) -> dict[str, dict[str, float]]:
    """Per-submit cost of each subject: ``{"ns": median ns per submit, "ratio": ns /
    queue.Queue.put's ns}``.

    Rounds are interleaved (A B C D, A B C D, ...), so that a slow moment of the
    machine lands on every subject rather than on whichever ran then.
    """
    if n < 1 or rounds < 1:
        raise ValueError(f"n and rounds must be >= 1, got n={n!r}, rounds={rounds!r}")
    samples: dict[str, list[float]] = {name: [] for name in SUBJECTS}
    for _ in range(rounds):
        for name, build in SUBJECTS.items():
            subject = build()
            cost = per_call_ns(
                lambda n, s=subject: s.loop(s.instance, n),
                n,
                repeats=1,
                setup=subject.setup,
                teardown=subject.teardown,
            )
            samples[name].append(cost)
    medians = {name: statistics.median(costs) for name, costs in samples.items()}
    return {
        name: {"ns": ns, "ratio": ns / medians[BASELINE]}
        for name, ns in medians.items()
    }
    # --8<-- [end:measure]
