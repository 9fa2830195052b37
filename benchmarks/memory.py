"""Bytes of memory each queued task holds while it waits, measured with ``tracemalloc``.

An unbounded queue turns an overload into memory growth, so the size of one
waiting task decides how far a backlog can grow before it hurts. Each row
queues N tasks ``fn(i)`` with every worker held on a gate (so all N stay
queued), and divides the memory ``tracemalloc`` sees allocated and still held
by N. The argument ``i`` itself (an int) is part of every row's figure.

Rows: ``queue.Queue`` holding the tuple a ``WorkerPool`` stores (the floor),
``WorkerPool``, ``ThreadPoolExecutor`` (a ``Future`` with its ``Condition``
and a work item per task), Huey ``MemoryHuey`` (a pickled message per task,
no consumer).
"""

from __future__ import annotations

import gc
import queue
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from dualqueue import WorkerPool

from .measure import Gate, ratio

__all__ = ["SIZES", "queued_bytes", "run"]

SIZES = {"full": (20_000, 3), "quick": (2_000, 2)}


def noop(i: int) -> None:
    """The queued task."""


Submit = Callable[[int], object]


@contextmanager
def _queue_floor() -> Iterator[Submit]:
    tasks: queue.Queue[Any] = queue.Queue()
    yield lambda i: tasks.put((noop, (i,), {}, time.monotonic(), 0))


@contextmanager
def _pool() -> Iterator[Submit]:
    pool, gate = WorkerPool("general", workers=2), Gate()
    for _ in range(2):
        pool.submit(gate.task)
    gate.wait_entered(2)
    try:
        yield lambda i: pool.submit(noop, i)
    finally:
        gate.open()
        pool.shutdown(timeout=None)


@contextmanager
def _executor() -> Iterator[Submit]:
    executor, gate = ThreadPoolExecutor(max_workers=2), Gate()
    for _ in range(2):
        executor.submit(gate.task)
    gate.wait_entered(2)
    try:
        yield lambda i: executor.submit(noop, i)
    finally:
        gate.open()
        executor.shutdown(wait=True)


@contextmanager
def _huey() -> Iterator[Submit]:
    from huey import MemoryHuey

    huey = MemoryHuey("memory")
    task = huey.task()(noop)
    yield task


ROWS: dict[str, Callable[[], Any]] = {
    "queue.Queue of the pool's tuple (floor)": _queue_floor,
    "WorkerPool": _pool,
    "ThreadPoolExecutor": _executor,
    "Huey MemoryHuey": _huey,
}


# --8<-- [start:queued-bytes]
def queued_bytes(make: Callable[[], Any], n: int) -> float:
    """Bytes held per task after queueing ``n`` tasks that cannot start (workers held,
    or no consumer)."""
    with make() as submit:
        submit(
            -1
        )  # first-call allocations (caches, lazily built objects) are not per task
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(n):
                submit(i)
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    return held / n
    # --8<-- [end:queued-bytes]


def run(quick: bool = False, *, size: tuple[int, int] | None = None) -> dict[str, Any]:
    """Bytes per queued task for every row; ratios are against
    ``ThreadPoolExecutor``."""
    n, repeats = size or SIZES["quick" if quick else "full"]
    rows = []
    for name, make in ROWS.items():
        runs = [queued_bytes(make, n) for _ in range(repeats)]
        rows.append(
            {
                "name": name,
                "n": n,
                "bytes_per_task": round(statistics.median(runs), 1),
                "runs": [round(r, 1) for r in runs],
            }
        )
    base = next(r for r in rows if r["name"] == "ThreadPoolExecutor")["bytes_per_task"]
    for row in rows:
        row["x_executor"] = ratio(row["bytes_per_task"], base)
    return {"rows": rows}
