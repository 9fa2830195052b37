"""Tasks per second through two worker threads, end to end: submit N, wait for all N.

Two workloads: a no-op (the pure cost of the machinery: enqueue, hand-off to a
worker, dequeue, bookkeeping) and a small task (serialising a little dict to
JSON, a few microseconds, like rendering a notification). Rows:

* ``WorkerPool`` with 2 workers (``submit`` each task, then ``join()``);
* ``ThreadPoolExecutor(max_workers=2)`` (``submit`` each task, then wait on the
futures);
* ``queue.Queue`` and 2 hand-written worker threads: the floor, with no
  counters, no error handling and no shutdown story.

Both pools are started before the clock starts. Every row checks afterwards
that exactly N tasks ran.
"""

from __future__ import annotations

import json
import queue
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from dualqueue import WorkerPool

from .measure import DEADLOCK, gc_disabled, ratio

__all__ = ["SIZES", "WORKLOADS", "run"]

SIZES = {"full": (50_000, 5), "quick": (5_000, 3)}


def noop(i: int) -> None:
    """No work at all: the machinery's own cost."""


def small(i: int) -> None:
    """A few microseconds of real work: a small JSON document."""
    json.dumps(
        {
            "user": i,
            "template": "password-reset",
            "to": f"user{i}@example.org",
            "tries": [1, 2, 3],
        }
    )


WORKLOADS: dict[str, Callable[[int], None]] = {
    "no-op": noop,
    "small (json.dumps)": small,
}


# --8<-- [start:throughput]
def through_pool(fn: Callable[[int], None], n: int) -> tuple[float, int]:
    """Seconds to submit ``n`` tasks to a started 2-worker ``WorkerPool`` and see them
    all finish."""
    pool = WorkerPool("general", workers=2)
    pool.submit(fn, -1)
    pool.join(DEADLOCK)  # both workers started before the clock starts
    try:
        with gc_disabled():
            start = time.perf_counter()
            for i in range(n):
                pool.submit(fn, i)
            if not pool.join(DEADLOCK):
                raise TimeoutError("WorkerPool did not finish")
            elapsed = time.perf_counter() - start
        return elapsed, pool.snapshot()["succeeded"] - 1
    finally:
        pool.shutdown(timeout=DEADLOCK)


def through_executor(fn: Callable[[int], None], n: int) -> tuple[float, int]:
    """The same through ``ThreadPoolExecutor(max_workers=2)``, waiting on every
    future."""
    with ThreadPoolExecutor(max_workers=2) as executor:
        wait([executor.submit(fn, -1) for _ in range(2)], timeout=DEADLOCK)
        with gc_disabled():
            start = time.perf_counter()
            futures = [executor.submit(fn, i) for i in range(n)]
            done, not_done = wait(futures, timeout=DEADLOCK)
            elapsed = time.perf_counter() - start
        if not_done:
            raise TimeoutError("ThreadPoolExecutor did not finish")
        return elapsed, sum(1 for f in done if f.exception() is None)
        # --8<-- [end:throughput]


def through_queue(fn: Callable[[int], None], n: int) -> tuple[float, int]:
    """The floor: ``queue.Queue`` and two bare worker threads
    (``put``/``get``/``task_done``/``join``)."""
    tasks: queue.Queue[Any] = queue.Queue()
    ran = [0, 0]

    def worker(slot: int) -> None:
        while True:
            item = tasks.get()
            if item is None:
                tasks.task_done()
                return
            item[0](*item[1])
            ran[slot] += 1
            tasks.task_done()

    threads = [
        threading.Thread(target=worker, args=(slot,), daemon=True) for slot in range(2)
    ]
    for thread in threads:
        thread.start()
    try:
        with gc_disabled():
            start = time.perf_counter()
            for i in range(n):
                tasks.put((fn, (i,)))
            tasks.join()
            elapsed = time.perf_counter() - start
        return elapsed, sum(ran)
    finally:
        for _ in threads:
            tasks.put(None)
        for thread in threads:
            thread.join(DEADLOCK)


ROWS: dict[str, Callable[[Callable[[int], None], int], tuple[float, int]]] = {
    "WorkerPool (2 workers)": through_pool,
    "ThreadPoolExecutor (2 workers)": through_executor,
    "queue.Queue + 2 threads (floor)": through_queue,
}


def run(quick: bool = False, *, size: tuple[int, int] | None = None) -> dict[str, Any]:
    """Every row and workload; ratios are against ``ThreadPoolExecutor`` in the same
    run."""
    n, repeats = size or SIZES["quick" if quick else "full"]
    rows: list[dict[str, Any]] = []
    for workload, fn in WORKLOADS.items():
        runs: dict[str, list[tuple[float, int]]] = {name: [] for name in ROWS}
        for _ in range(
            repeats
        ):  # the rows take turns, so noise from other processes hits them alike
            for name, through in ROWS.items():
                runs[name].append(through(fn, n))
        for name in ROWS:
            seconds = sorted(elapsed for elapsed, _ in runs[name])
            counts = [ran for _, ran in runs[name]]
            median = statistics.median(seconds)
            rows.append(
                {
                    "name": name,
                    "workload": workload,
                    "n": n,
                    "repeats": repeats,
                    "tasks_per_s": round(n / median),
                    "us_per_task": round(median / n * 1e6, 3),
                    "runs_s": [round(s, 4) for s in seconds],
                    "ran": counts,
                }
            )
        base = next(
            r
            for r in rows
            if r["workload"] == workload and r["name"].startswith("ThreadPoolExecutor")
        )
        for row in rows:
            if row["workload"] == workload:
                row["x_executor"] = ratio(row["tasks_per_s"], base["tasks_per_s"])
    return {"rows": rows}
