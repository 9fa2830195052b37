"""How long a light task waits to start while heavy work saturates the process.

The seed system's bad afternoon, scaled down to a second: heavy analyses are
queued all at once, and then light tasks (password-reset emails) arrive at a
steady rate. For each light task the wait is measured from just before
``submit`` to the first line of the task (submit-to-start), with
``time.perf_counter_ns`` on both sides.

Two arrangements of the same 12 threads: **one shared pool** of 12 (both kinds of
work in one FIFO queue) and **two pools** (``TaskSystem(general=2, site=10)``).
Two kinds of heavy work: **waiting** (an Earth Engine call mostly waits on
Google's servers: the heavy task sleeps, and releases the GIL) and **CPU** (pure
Python arithmetic, which holds the GIL). For CPU work, two remedies: a shorter
``sys.setswitchinterval`` (the interpreter asks the running thread to let others
run more often), and a ``ProcessPoolExecutor`` for the CPU step (the site thread
waits for another process, and waiting releases the GIL).

Waiting heavy tasks sleep ``heavy_seconds`` each. CPU-bound heavy tasks burn
CPU until the whole light stream has been submitted: a fixed amount would not
do, because under CPU load the stream itself slows down (the thread that
submits needs the GIL too) and could outlast the load it is meant to measure.
Every light task records whether heavy work was still outstanding when it was
submitted, so a run whose heavy work finished early cannot pass for a run under
load: ``under_load`` says how many were.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from dualqueue import TaskSystem, WorkerPool

from .measure import Latency

__all__ = ["LightLatency", "burn", "light_latency_under_load"]

DEADLOCK = 60.0  # seconds: a deadlock detector, never a latency claim
REMEDIES = (None, "switchinterval", "processes")


def burn(cpu_seconds: float) -> int:
    """Pure-Python arithmetic until this thread has used ``cpu_seconds`` of CPU: it
    holds the GIL throughout."""
    deadline = time.thread_time() + cpu_seconds
    n = 0
    while time.thread_time() < deadline:
        for i in range(1000):
            n += i * i
    return n


CHUNK = (
    0.02  # seconds of CPU per burn() call while heavy CPU work runs until told to stop
)


@dataclass(frozen=True)
class LightLatency:
    """What one run measured: the light tasks' waits and the counts that say the run was
    what it claims."""

    arrangement: str  # "shared" or "two pools"
    heavy_kind: str  # "waiting" or "cpu"
    remedy: str | None
    latency: Latency
    light_submitted: int
    light_ran: int
    heavy_submitted: int
    heavy_ran: int
    under_load: int  # light tasks submitted while heavy work was still outstanding


@contextmanager
def switch_interval(seconds: float) -> Any:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


# --8<-- [start:light-latency]
def light_latency_under_load(
    *,
    shared: bool,
    cpu: bool = False,
    remedy: str | None = None,
    heavy: int = 24,
    heavy_seconds: float = 0.3,  # waiting heavy work only
    light: int = 15,
    interval: float = 0.02,
) -> LightLatency:
    """Submit ``heavy`` heavy tasks, then ``light`` light ones every ``interval`` s;
    measure the light waits."""
    if remedy not in REMEDIES or (remedy is not None and not cpu):
        raise ValueError(
            f"remedy must be one of {REMEDIES} (and only with cpu=True), got {remedy!r}"
        )
    if shared:
        pool = WorkerPool("shared", workers=12)
        submit_heavy = submit_light = pool.submit
        heavy_workers, join = 12, pool.join
    else:
        tasks = TaskSystem(general=2, site=10)
        submit_heavy, submit_light = tasks["site"].submit, tasks["general"].submit
        heavy_workers, join = 10, tasks.join

    lock = threading.Lock()
    waits_ns: list[int] = []
    heavy_started = threading.Semaphore(0)
    heavy_done = 0
    stream_over = (
        threading.Event()
    )  # CPU-bound heavy work runs until the light stream has been submitted

    with ExitStack() as stack:
        processes = None
        if remedy == "processes":
            # spawn, not fork: this process has threads, and a forked child would
            # inherit their locks.
            processes = stack.enter_context(
                ProcessPoolExecutor(
                    max_workers=2, mp_context=multiprocessing.get_context("spawn")
                )
            )
            list(
                processes.map(burn, [0.0, 0.0])
            )  # start both processes before the clock matters
        if remedy == "switchinterval":
            stack.enter_context(switch_interval(0.0005))  # the default is 0.005

        def heavy_task() -> None:
            nonlocal heavy_done
            heavy_started.release()
            if not cpu:
                time.sleep(
                    heavy_seconds
                )  # waiting on Earth Engine: the GIL is free meanwhile
            while cpu and not stream_over.is_set():
                if processes is not None:
                    processes.submit(
                        burn, CHUNK
                    ).result()  # this thread waits; the work is elsewhere
                else:
                    burn(CHUNK)  # holds the GIL, a switch interval at a time
            with lock:
                heavy_done += 1

        def light_task(submitted_ns: int) -> None:
            started_ns = time.perf_counter_ns()
            with lock:
                waits_ns.append(started_ns - submitted_ns)

        for _ in range(heavy):
            submit_heavy(heavy_task)
        for _ in range(
            min(heavy, heavy_workers)
        ):  # every worker that heavy work can reach is busy
            if not heavy_started.acquire(timeout=DEADLOCK):
                raise TimeoutError("the heavy tasks never started")
        under_load = 0
        for _ in range(light):
            with lock:
                under_load += heavy_done < heavy
            submit_light(light_task, time.perf_counter_ns())
            time.sleep(interval)  # the load generator's pace, not a test's wait
        stream_over.set()
        if not join(DEADLOCK):
            raise TimeoutError("the pools never finished the workload")

    return LightLatency(
        arrangement="shared" if shared else "two pools",
        heavy_kind="cpu" if cpu else "waiting",
        remedy=remedy,
        latency=Latency.of_ns(waits_ns),
        light_submitted=light,
        light_ran=len(waits_ns),
        heavy_submitted=heavy,
        heavy_ran=heavy_done,
        under_load=under_load,
    )
    # --8<-- [end:light-latency]
