"""The stats property, two ways: a stress test that hopes, and an exploration that does
not.

The invariant: at every snapshot, ``submitted == queued + running + succeeded +
failed + dropped``, and no total ever goes down.

``stress_property`` is the obvious test: hypothesis picks a workload, several
threads submit it while another takes snapshots as fast as it can, and every
snapshot is checked. It is worth having (it exercises the real thing under real
contention), but it can only find an interleaving the interpreter happens to
produce. On CPython 3.11 a thread switch can only happen at a few kinds of
instruction, and none of them falls between two ``+=`` lines: the stress test
passes on ``chapters.broken.UnlockedStatsPool`` as well as on the reference.

``paused_snapshots`` makes the interleaving the input instead of luck. A real
pool runs one real task; a line tracer stops its worker just before line N of
the counting method, and while it is stopped the test takes a snapshot, if a
reader could (the pool's mutex is free; a reader would otherwise wait for it).
Every line is visited, so the one bad moment in the broken pool is always found.
"""

from __future__ import annotations

import itertools
import linecache
import threading
import time
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from dualqueue import WorkerPool
from hypothesis import given, settings
from hypothesis import strategies as st

__all__ = [
    "TOTALS",
    "consistent",
    "paused_snapshots",
    "snapshots_under_load",
    "stress_property",
]

DEADLOCK = 10.0  # seconds: a deadlock detector, never a latency claim
TOTALS = ("submitted", "succeeded", "failed", "dropped", "rejected")

PoolClass = Callable[..., WorkerPool]


# --8<-- [start:consistent]
def consistent(snapshot: dict[str, Any]) -> bool:
    """The pool's invariant, as one line a reader can check against the docs."""
    s = snapshot
    return (
        s["submitted"]
        == s["queued"] + s["running"] + s["succeeded"] + s["failed"] + s["dropped"]
    )
# --8<-- [end:consistent]


def fail() -> None:
    raise RuntimeError("a task that fails")


# --8<-- [start:stress]
def snapshots_under_load(
    make: PoolClass, producers: list[list[bool]], workers: int
) -> list[dict[str, Any]]:
    """Each producer thread submits its tasks (True succeeds, False raises) while a
    reader snapshots."""
    pool = make("stress", workers=workers)
    snapshots: list[dict[str, Any]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            snapshots.append(pool.snapshot())

    def produce(tasks: list[bool]) -> None:
        for ok in tasks:
            pool.submit(int if ok else fail)

    reader = threading.Thread(target=read)
    threads = [threading.Thread(target=produce, args=(tasks,)) for tasks in producers]
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLOCK)
    settled = pool.join(DEADLOCK)  # let the pool settle before judging the totals
    stop.set()
    reader.join(DEADLOCK)
    snapshots.append(pool.snapshot())
    pool.shutdown(DEADLOCK)
    assert settled, "the pool never finished its workload"
    return snapshots


def check_snapshots(
    snapshots: list[dict[str, Any]], producers: list[list[bool]]
) -> None:
    for snap in snapshots:
        assert consistent(snap), f"torn snapshot: {snap}"
    for before, after in itertools.pairwise(snapshots):
        for total in TOTALS:
            assert after[total] >= before[total], (
                f"{total} went down: {before[total]} -> {after[total]}"
            )
    tasks = [ok for producer in producers for ok in producer]
    final = snapshots[-1]
    assert (final["submitted"], final["succeeded"], final["failed"]) == (
        len(tasks),
        sum(tasks),
        tasks.count(False),
    )


def stress_property(make: PoolClass, **options: Any) -> Callable[[], None]:
    """A hypothesis test: any workload from up to four threads; every snapshot
    consistent, totals exact."""

    @settings(deadline=None, **options)
    @given(
        producers=st.lists(
            st.lists(st.booleans(), max_size=50), min_size=1, max_size=4
        ),
        workers=st.integers(min_value=1, max_value=4),
    )
    def every_snapshot_is_consistent(producers: list[list[bool]], workers: int) -> None:
        check_snapshots(snapshots_under_load(make, producers, workers), producers)

    return every_snapshot_is_consistent
# --8<-- [end:stress]


# --8<-- [start:paused]
def paused_snapshots(
    make: PoolClass, method: str = "_task_succeeded"
) -> list[tuple[int, dict[str, Any]]]:
    """For each line of ``method``: run one task on a real pool, pause its worker before
    that line, snapshot.

    Returns ``(line, snapshot)`` for every pause at which a reader could take a
    snapshot. The task fails when ``method`` is ``"_task_failed"``.
    """
    code: CodeType = getattr(make("probe"), method).__code__
    task = fail if method == "_task_failed" else int
    taken = []
    for line in body_lines(code):
        snapshot = snapshot_while_paused(make, task, code, line)
        if snapshot is not None:
            taken.append((line, snapshot))
    return taken


def snapshot_while_paused(
    make: PoolClass, task: Callable[[], object], code: CodeType, line: int
) -> dict[str, Any] | None:
    """Run ``task`` on a fresh one-worker pool; stop the worker before ``line`` of
    ``code``; snapshot there."""
    pool = make("paused", workers=1)
    paused, returned, resume = threading.Event(), threading.Event(), threading.Event()

    def stop_here(frame: FrameType, event: str, arg: object) -> Any:
        if event == "line" and frame.f_lineno == line:
            paused.set()
            resume.wait(DEADLOCK)
        elif event == "return":
            returned.set()
        return stop_here

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        return stop_here if frame.f_code is code else None

    previous = threading.gettrace()  # coverage's hook, when it runs: put it back after
    threading.settrace(tracer)  # only threads started from now on: the pool's worker
    try:
        pool.submit(task)
    finally:
        threading.settrace(previous)
    snapshot = None
    try:
        deadline = time.monotonic() + DEADLOCK
        while not (paused.wait(0.005) or returned.is_set()):
            assert time.monotonic() < deadline, (
                f"the worker never reached line {line} nor returned"
            )
        # A reader takes the pool's mutex to snapshot; while the paused worker holds it,
        # no reader can look.
        if paused.is_set() and not held(pool._mutex):
            snapshot = pool.snapshot()
    finally:
        resume.set()
    assert pool.join(DEADLOCK), f"the worker paused at line {line} never finished"
    pool.shutdown(DEADLOCK)
    return snapshot


def body_lines(code: CodeType) -> list[int]:
    """The lines of a function's body, in order."""
    return sorted(
        {
            line
            for _, _, line in code.co_lines()
            if line is not None and line > code.co_firstlineno
        }
    )
# --8<-- [end:paused]


def source_line(make: PoolClass, method: str, line: int) -> str:
    """The text of ``line`` in ``method``'s source, for reports."""
    code = getattr(make("probe"), method).__code__
    return linecache.getline(code.co_filename, line).strip()


def held(lock: Any) -> bool:
    """Whether another thread holds ``lock`` (an RLock has no ``locked()`` before
    3.14)."""
    if not lock.acquire(blocking=False):
        return True
    lock.release()
    return False
