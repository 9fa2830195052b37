"""How submit cost and light-task latency change as producers and backlog grow.

Producers (1 to 16 threads, like concurrent web requests):

* **submit cost**: a fixed number of tasks split evenly between P threads that
  start together; the wall time until the last one is done, per task. Workers
  are held on a gate, so this is enqueue and lock contention only. Rows:
  ``WorkerPool.submit``, ``queue.Queue.put`` (floor), ``ThreadPoolExecutor.submit``.
* **light latency**: P threads each submit light tasks to ``general`` every
  10 ms while every ``site`` worker is held and site work is queued behind them.

Backlog (10 to 100,000 tasks already queued):

* **submit cost** of one more task, for the same three rows;
* **light latency** on two pools (the backlog is in ``site``; light tasks go to
  ``general``) and on one shared pool of 12 (the backlog is no-op tasks queued
  ahead of the light task, released together: the light task waits for all of
  them to be taken first).
"""

from __future__ import annotations

import queue
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from dualqueue import TaskSystem, WorkerPool

from .measure import DEADLOCK, Gate, gc_disabled, latency_summary, ratio

__all__ = ["SIZES", "run"]

SIZES = {
    "full": {
        "producers": (1, 2, 4, 8, 16),
        "tasks": 40_000,
        "lights_each": 20,
        "repeats": 5,
        "backlogs": (10, 100, 1_000, 10_000, 100_000),
        "probe": 5_000,
        "backlog_lights": 20,
    },
    "quick": {
        "producers": (1, 4, 16),
        "tasks": 8_000,
        "lights_each": 8,
        "repeats": 2,
        "backlogs": (10, 1_000, 100_000),
        "probe": 2_000,
        "backlog_lights": 10,
    },
}


def noop(i: int) -> None:
    """The queued task."""


Submit = Callable[[int], object]


@contextmanager
def _held_pool() -> Iterator[Submit]:
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
def _queue_floor() -> Iterator[Submit]:
    tasks: queue.Queue[Any] = queue.Queue()
    yield lambda i: tasks.put((noop, (i,), {}, time.monotonic(), 0))


@contextmanager
def _held_executor() -> Iterator[Submit]:
    executor, gate = ThreadPoolExecutor(max_workers=2), Gate()
    for _ in range(2):
        executor.submit(gate.task)
    gate.wait_entered(2)
    try:
        yield lambda i: executor.submit(noop, i)
    finally:
        gate.open()
        executor.shutdown(wait=True)


ROWS: dict[str, Callable[[], Any]] = {
    "WorkerPool.submit": _held_pool,
    "queue.Queue.put (floor)": _queue_floor,
    "ThreadPoolExecutor.submit": _held_executor,
}


# -- producers -----------------------------------------------------------------


# --8<-- [start:producers]
def submit_cost_with_producers(
    make: Callable[[], Any], producers: int, tasks: int
) -> float:
    """Wall nanoseconds per task when ``producers`` threads submit ``tasks`` between
    them, all at once."""
    share = tasks // producers
    with make() as submit:
        ready = threading.Barrier(producers + 1)

        def produce() -> None:
            ready.wait()
            for i in range(share):
                submit(i)

        threads = [threading.Thread(target=produce) for _ in range(producers)]
        for thread in threads:
            thread.start()
        with gc_disabled():
            ready.wait()
            start = time.perf_counter_ns()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter_ns() - start
    return elapsed / (share * producers)
    # --8<-- [end:producers]


def light_latency_with_producers(
    producers: int, lights_each: int, interval: float = 0.01
) -> dict[str, Any]:
    """Light tasks from ``producers`` threads to ``general`` while ``site`` is full and
    backlogged."""
    tasks, gate = TaskSystem(general=2, site=10), Gate()
    for _ in range(10):
        tasks.submit("site", gate.task)
    gate.wait_entered(10)
    for _ in range(100):
        tasks.submit("site", gate.task)  # queued behind the held workers
    total = producers * lights_each
    submitted, started = [0] * total, [0] * total
    done = threading.Semaphore(0)

    def light(k: int) -> None:
        started[k] = time.perf_counter_ns()
        done.release()

    def produce(p: int) -> None:
        for j in range(lights_each):
            k = p * lights_each + j
            submitted[k] = time.perf_counter_ns()
            tasks.submit("general", light, k)
            time.sleep(interval)

    tasks.submit(
        "general", noop, -1
    )  # start the general workers before anything is timed
    tasks["general"].join(DEADLOCK)
    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for _ in range(total):
            if not done.acquire(timeout=DEADLOCK):
                raise TimeoutError("a light task never started")
    finally:
        gate.open()
        tasks.shutdown(timeout=DEADLOCK)
    return latency_summary([s - t for s, t in zip(started, submitted, strict=True)])


# -- backlog -------------------------------------------------------------------


def submit_cost_with_backlog(
    make: Callable[[], Any], backlog: int, probe: int
) -> float:
    """Nanoseconds per submit of ``probe`` more tasks once ``backlog`` tasks are already
    queued."""
    with make() as submit:
        for i in range(backlog):
            submit(i)
        with gc_disabled():
            start = time.perf_counter_ns()
            for i in range(probe):
                submit(i)
            elapsed = time.perf_counter_ns() - start
    return elapsed / probe


def light_latency_two_pools_with_backlog(backlog: int, lights: int) -> dict[str, Any]:
    """Light tasks on ``general`` while ``backlog`` site tasks wait behind 10 held site
    workers."""
    tasks, gate = TaskSystem(general=2, site=10), Gate()
    for _ in range(10):
        tasks.submit("site", gate.task)
    gate.wait_entered(10)
    for i in range(backlog):
        tasks.submit("site", noop, i)
    tasks.submit("general", noop, -1)
    tasks["general"].join(DEADLOCK)
    submitted, started = [0] * lights, [0] * lights
    done = threading.Semaphore(0)

    def light(k: int) -> None:
        started[k] = time.perf_counter_ns()
        done.release()

    try:
        for k in range(lights):
            submitted[k] = time.perf_counter_ns()
            tasks.submit("general", light, k)
            if not done.acquire(timeout=DEADLOCK):
                raise TimeoutError("a light task never started")
            time.sleep(0.002)
    finally:
        gate.open()
        tasks.shutdown(timeout=DEADLOCK)
    return latency_summary([s - t for s, t in zip(started, submitted, strict=True)])


def light_latency_shared_with_backlog(backlog: int) -> float:
    """Milliseconds from submit to start of a light task queued behind ``backlog``
    no-ops in one 12-worker pool."""
    pool, gate = WorkerPool("shared", workers=12), Gate()
    for _ in range(12):
        pool.submit(gate.task)
    gate.wait_entered(12)
    for i in range(backlog):
        pool.submit(noop, i)
    started = threading.Event()
    stamp = [0]

    def light() -> None:
        stamp[0] = time.perf_counter_ns()
        started.set()

    submitted = time.perf_counter_ns()
    pool.submit(light)
    gate.open()  # the held workers finish; the backlog ahead of the light task drains
    try:
        if not started.wait(DEADLOCK):
            raise TimeoutError("the light task never started")
    finally:
        pool.shutdown(timeout=DEADLOCK)
    return (stamp[0] - submitted) / 1e6


def _medians(
    measure: Callable[[Callable[[], Any]], float], repeats: int
) -> dict[str, float]:
    """``measure(make)`` for every row, rows taking turns, ``repeats`` times; each row's
    median."""
    runs: dict[str, list[float]] = {name: [] for name in ROWS}
    for _ in range(repeats):
        for name, make in ROWS.items():
            runs[name].append(measure(make))
    return {name: round(statistics.median(r), 1) for name, r in runs.items()}


def run(quick: bool = False, *, size: dict[str, Any] | None = None) -> dict[str, Any]:
    """Both sweeps; submit costs are also given as ratios to ``queue.Queue.put`` at the
    same point."""
    s = size or SIZES["quick" if quick else "full"]
    repeats = s["repeats"]

    producers: list[dict[str, Any]] = []
    for p in s["producers"]:
        point: dict[str, Any] = {"producers": p}
        point.update(
            _medians(
                lambda make, p=p: submit_cost_with_producers(make, p, s["tasks"]),
                repeats,
            )
        )
        point["x_floor"] = ratio(
            point["WorkerPool.submit"], point["queue.Queue.put (floor)"]
        )
        point["light_latency"] = light_latency_with_producers(p, s["lights_each"])
        producers.append(point)

    backlogs: list[dict[str, Any]] = []
    for b in s["backlogs"]:
        point = {"backlog": b}
        point.update(
            _medians(
                lambda make, b=b: submit_cost_with_backlog(make, b, s["probe"]), repeats
            )
        )
        point["x_floor"] = ratio(
            point["WorkerPool.submit"], point["queue.Queue.put (floor)"]
        )
        point["two_pools_light"] = light_latency_two_pools_with_backlog(
            b, s["backlog_lights"]
        )
        point["shared_pool_light_ms"] = round(
            statistics.median(
                light_latency_shared_with_backlog(b) for _ in range(repeats)
            ),
            3,
        )
        backlogs.append(point)
    return {
        "producers": producers,
        "backlogs": backlogs,
        "unit": "ns per submit; latency in ms",
        "tasks_split_between_producers": s["tasks"],
    }
