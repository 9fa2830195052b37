"""How long a light task waits to start while heavy work saturates the process.

The scenario of the seed system: a customer onboards many sites, so dozens of
heavy analyses are queued at once, and meanwhile password-reset emails (light
tasks) keep arriving. For each light task we record the time from the moment
``submit`` is called to the first line of the task (submit-to-start latency)
and report p50, p99 and max.

Three ways to run the same workload with 12 threads in total:

* **two pools** (``TaskSystem(general=2, site=10)``): heavy to ``site``, light to
``general``;
* **one shared pool** of 12 workers, first in first out;
* **one pool with priority**: Huey (``MemoryHuey``) with an in-process consumer of
  12 worker threads, light tasks at a higher priority than heavy ones.

Two kinds of heavy work:

* **waiting** (I/O-like: an Earth Engine call mostly waits on Google's
  servers): each heavy task sleeps;
* **CPU**: each heavy task runs pure-Python arithmetic, which holds the GIL. For
  this case two remedies are measured too: a lower ``sys.setswitchinterval``,
  and moving the CPU step into a ``ProcessPoolExecutor`` that the site task
  waits on (the site thread then releases the GIL while it waits).

The load must cover the light stream: every light task records whether heavy
work was still outstanding when it was submitted (``submitted_under_load``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from dualqueue import TaskSystem, WorkerPool

from .measure import DEADLOCK, latency_summary, ratio, switch_interval

__all__ = ["SIZES", "Load", "Stream", "burn", "calibrate", "light_latency", "run"]

HUEY_LIGHT_PRIORITY = 10  # Huey runs higher numbers first
HUEY_HEAVY_PRIORITY = 0


@dataclass(frozen=True)
class Load:
    """Heavy work submitted all at once before the light stream starts."""

    kind: str  # "none", "waiting" (sleeps) or "cpu" (pure-Python arithmetic)
    tasks: int
    seconds: (
        float  # per task: seconds asleep, or seconds of CPU measured on one idle thread
    )


@dataclass(frozen=True)
class Stream:
    """Light tasks submitted one by one, ``interval`` seconds apart."""

    lights: int
    interval: float


SIZES = {
    "full": {
        "none": (Load("none", 0, 0.0), Stream(200, 0.005)),
        "waiting": (Load("waiting", 60, 0.5), Stream(200, 0.005)),
        "cpu": (Load("cpu", 48, 0.2), Stream(80, 0.01)),
    },
    "quick": {
        "none": (Load("none", 0, 0.0), Stream(50, 0.005)),
        "waiting": (Load("waiting", 24, 0.2), Stream(60, 0.005)),
        "cpu": (Load("cpu", 30, 0.1), Stream(30, 0.01)),
    },
}


# -- the heavy work ------------------------------------------------------------


def burn(iterations: int) -> int:
    """Pure-Python arithmetic: holds the GIL for its whole run (a CPU step of an
    analysis)."""
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return total


def calibrate(target_seconds: float = 0.05, trials: int = 5) -> float:
    """Iterations of ``burn`` per second on this machine: the best of ``trials`` runs on
    the calling thread.

    The best, not the median: on a shared machine a slow trial means another
    process had the core, and heavy work sized from it would run shorter than meant.
    """
    iterations = 20_000
    while True:
        start = time.perf_counter()
        burn(iterations)
        if time.perf_counter() - start >= target_seconds:
            break
        iterations *= 2
    best = 0.0
    for _ in range(trials):
        start = time.perf_counter()
        burn(iterations)
        best = max(best, iterations / (time.perf_counter() - start))
    return best


# -- the recording ---------------------------------------------------------------


class Recorder:
    """Submit and start times of the light tasks, and how much heavy work is
    outstanding."""

    def __init__(self, lights: int, heavies: int) -> None:
        self.submitted = [0] * lights
        self.started = [0] * lights
        self.under_load = [False] * lights
        self.heavies = heavies
        self._lock = threading.Lock()  # guards the counters below
        self.heavy_started = 0
        self.heavy_finished = 0
        self.lights_done = 0
        self.lights_finished = threading.Event()
        self.heavies_finished = threading.Event()
        if heavies == 0:
            self.heavies_finished.set()
        if lights == 0:
            self.lights_finished.set()

    def light(self, i: int) -> None:
        self.started[i] = time.perf_counter_ns()  # the first line of the light task
        with self._lock:
            self.lights_done += 1
            if self.lights_done == len(self.started):
                self.lights_finished.set()

    def heavy(self, work: Callable[[], object]) -> None:
        with self._lock:
            self.heavy_started += 1
        try:
            work()
        finally:
            with self._lock:
                self.heavy_finished += 1
                if self.heavy_finished == self.heavies:
                    self.heavies_finished.set()

    def outstanding_heavy(self) -> bool:
        with self._lock:
            return self.heavy_finished < self.heavies

    def wait_heavy_started(self, n: int) -> None:
        deadline = time.monotonic() + DEADLOCK
        while True:
            with self._lock:
                if self.heavy_started >= n:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"fewer than {n} heavy tasks started within {DEADLOCK}s"
                )
            time.sleep(0.001)


# -- the systems under test --------------------------------------------------------


class System(Protocol):
    heavy_workers: int  # how many heavy tasks can run at once

    def submit_heavy(self, fn: Callable[[], object]) -> None: ...

    def submit_light(self, fn: Callable[[int], object], i: int) -> None: ...

    def close(self) -> None: ...


# --8<-- [start:two-pools]
class TwoPools:
    """The dualqueue design: light work on ``general`` (2 workers), heavy on ``site``
    (10)."""

    heavy_workers = 10

    def __init__(self) -> None:
        self.tasks = TaskSystem(general=2, site=10)

    def submit_heavy(self, fn: Callable[[], object]) -> None:
        self.tasks.submit("site", fn)

    def submit_light(self, fn: Callable[[int], object], i: int) -> None:
        self.tasks.submit("general", fn, i)
        # --8<-- [end:two-pools]

    def close(self) -> None:
        self.tasks.shutdown(timeout=DEADLOCK)


class SharedPool:
    """The seed's first design: one pool of 12 workers for everything, first in first
    out."""

    heavy_workers = 12

    def __init__(self) -> None:
        self.pool = WorkerPool("shared", workers=12)

    def submit_heavy(self, fn: Callable[[], object]) -> None:
        self.pool.submit(fn)

    def submit_light(self, fn: Callable[[int], object], i: int) -> None:
        self.pool.submit(fn, i)

    def close(self) -> None:
        self.pool.shutdown(timeout=DEADLOCK)


class HueyPriority:
    """Huey with an in-process consumer of 12 worker threads; light tasks at a higher
    priority.

    Huey's workers poll an empty queue (sleeping ``initial_delay``, growing by
    ``backoff`` up to ``max_delay``). The defaults (0.1 s up to 10 s) would add
    polling delay to idle workers; these are tuned down so that the latency
    measured is the queueing, not the polling. Under load the workers are busy
    and take the next task as soon as they finish one.
    """

    heavy_workers = 12

    def __init__(self) -> None:
        from huey import MemoryHuey
        from huey.consumer import Consumer

        self.huey = MemoryHuey("latency", results=False)
        self._calls: dict[int, Callable[[], object]] = {}
        self._keys = iter(range(10**12))
        self._heavy = self.huey.task(priority=HUEY_HEAVY_PRIORITY, name="heavy")(
            self._call
        )
        self._light = self.huey.task(priority=HUEY_LIGHT_PRIORITY, name="light")(
            self._call_light
        )
        self._light_fns: dict[int, Callable[[int], object]] = {}
        self.consumer = Consumer(
            self.huey,
            workers=12,
            worker_type="thread",
            periodic=False,
            initial_delay=0.002,
            backoff=1.15,
            max_delay=0.05,
            check_worker_health=False,
        )
        # Consumer.start installs signal handlers for a consumer process; this
        # process is not one, so put the previous handlers back.
        saved = {
            sig: signal.getsignal(sig)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        self.consumer.start()
        for sig, handler in saved.items():
            signal.signal(sig, handler)

    def _call(self, key: int) -> None:
        self._calls.pop(key)()

    def _call_light(self, key: int, i: int) -> None:
        self._light_fns.pop(key)(i)

    def submit_heavy(self, fn: Callable[[], object]) -> None:
        key = next(self._keys)
        self._calls[key] = fn
        self._heavy(key)

    def submit_light(self, fn: Callable[[int], object], i: int) -> None:
        key = next(self._keys)
        self._light_fns[key] = fn
        self._light(key, i)

    def close(self) -> None:
        self.consumer.stop(graceful=True)


class ProcessOffload:
    """Two pools, but each site task sends its CPU step to a process pool and waits for
    it."""

    heavy_workers = 10

    def __init__(self, processes: int) -> None:
        self.system = TwoPools()
        self.executor = ProcessPoolExecutor(
            max_workers=processes, mp_context=multiprocessing.get_context("spawn")
        )
        for future in [self.executor.submit(burn, 1) for _ in range(processes)]:
            future.result(timeout=DEADLOCK)  # start every process before measuring
        self.processes = processes

    def submit_heavy(self, fn: Callable[[], object]) -> None:
        self.system.submit_heavy(fn)

    def submit_light(self, fn: Callable[[int], object], i: int) -> None:
        self.system.submit_light(fn, i)

    def close(self) -> None:
        self.system.close()
        self.executor.shutdown(wait=True)


# -- one measurement ---------------------------------------------------------------


CHUNK_SECONDS = (
    0.01  # heavy work runs in steps this long, so a finished measurement can stop it
)


def _heavy_work(
    load: Load, rate: float, executor: ProcessPoolExecutor | None, stop: threading.Event
) -> Callable[[], object]:
    """One heavy task's work. It ends early once ``stop`` is set (after every light task
    started)."""
    if load.kind == "waiting":
        return lambda: stop.wait(load.seconds)
    chunk = max(1, int(CHUNK_SECONDS * rate))
    chunks = max(1, round(load.seconds / CHUNK_SECONDS))

    def cpu() -> None:
        for _ in range(chunks):
            if stop.is_set():
                return
            if executor is None:
                burn(chunk)
            else:
                executor.submit(
                    burn, chunk
                ).result()  # this thread waits without the GIL

    return cpu


# --8<-- [start:light-latency]
def light_latency(
    system: System, load: Load, stream: Stream, *, rate: float = 0.0
) -> dict[str, Any]:
    """Submit ``load`` at once, then ``stream``; return the light tasks' submit-to-start
    latencies.

    Only light tasks submitted while heavy work was still outstanding count;
    ``submitted_under_load`` says how many that was.
    """
    recorder = Recorder(stream.lights, load.tasks)
    stop = threading.Event()
    executor = system.executor if isinstance(system, ProcessOffload) else None
    work = _heavy_work(load, rate, executor, stop)
    for _ in range(load.tasks):
        system.submit_heavy(lambda: recorder.heavy(work))
    recorder.wait_heavy_started(
        min(load.tasks, system.heavy_workers)
    )  # every heavy worker is busy
    t0 = (
        time.perf_counter()
    )  # the request thread submits on a schedule; GIL contention can make it late
    for i in range(stream.lights):
        recorder.under_load[i] = recorder.outstanding_heavy()
        recorder.submitted[i] = time.perf_counter_ns()
        system.submit_light(recorder.light, i)
        time.sleep(max(0.0, t0 + (i + 1) * stream.interval - time.perf_counter()))
    stream_seconds = time.perf_counter() - t0
    wait_limit = DEADLOCK + load.tasks * load.seconds
    finished = recorder.lights_finished.wait(wait_limit)
    # every light task has started: the rest of the heavy work measures nothing
    stop.set()
    if not finished or not recorder.heavies_finished.wait(DEADLOCK):
        raise TimeoutError("the workload did not finish")
    latencies = [
        start - submit
        for start, submit, loaded in zip(
            recorder.started, recorder.submitted, recorder.under_load, strict=True
        )
        if loaded or not load.tasks
    ]
    if not latencies:
        raise RuntimeError(
            "the heavy load ended before the first light task: make the load longer"
        )
    return {
        **latency_summary(latencies),
        "lights": stream.lights,
        "submitted_under_load": sum(recorder.under_load),
        "stream_seconds": round(stream_seconds, 3),
        "stream_nominal_seconds": stream.lights * stream.interval,
    }
    # --8<-- [end:light-latency]


def _measure(
    name: str,
    make: Callable[[], System],
    load: Load,
    stream: Stream,
    *,
    rate: float,
    interval: float | None = None,
) -> dict[str, Any]:
    with switch_interval(interval):
        system = make()
        try:
            # Start every thread (pools start lazily) before anything is timed.
            warm = Recorder(1, 1)
            system.submit_heavy(lambda: warm.heavy(lambda: None))
            system.submit_light(warm.light, 0)
            if not (
                warm.lights_finished.wait(DEADLOCK)
                and warm.heavies_finished.wait(DEADLOCK)
            ):
                raise TimeoutError(f"{name}: warm-up did not finish")
            started = time.perf_counter()
            result = light_latency(system, load, stream, rate=rate)
            result["seconds"] = round(time.perf_counter() - started, 3)
        finally:
            system.close()
    return {
        "name": name,
        "load": asdict(load),
        "stream": asdict(stream),
        "switch_interval_s": interval
        if interval is not None
        else sys.getswitchinterval(),
        **result,
    }


def run(
    quick: bool = False,
    *,
    sizes: dict[str, tuple[Load, Stream]] | None = None,
    huey: bool = True,
    processes: int | None = None,
) -> dict[str, Any]:
    """Every configuration in one run; ratios are against two pools under the same
    load."""
    size = sizes or SIZES["quick" if quick else "full"]
    rate = calibrate()
    processes = processes or os.cpu_count() or 2
    rows: list[dict[str, Any]] = []
    none_load, none_stream = size["none"]
    rows.append(
        _measure(
            "two pools, no heavy load", TwoPools, none_load, none_stream, rate=rate
        )
    )

    load, stream = size["waiting"]
    rows.append(_measure("two pools (2 + 10)", TwoPools, load, stream, rate=rate))
    rows.append(_measure("one shared pool (12)", SharedPool, load, stream, rate=rate))
    if huey:
        rows.append(
            _measure(
                "Huey, 12 threads, light at higher priority",
                HueyPriority,
                load,
                stream,
                rate=rate,
            )
        )

    load, stream = size["cpu"]
    rows.append(_measure("two pools (2 + 10)", TwoPools, load, stream, rate=rate))
    rows.append(_measure("one shared pool (12)", SharedPool, load, stream, rate=rate))
    rows.append(
        _measure(
            "two pools + setswitchinterval(0.001)",
            TwoPools,
            load,
            stream,
            rate=rate,
            interval=0.001,
        )
    )
    rows.append(
        _measure(
            "two pools + setswitchinterval(0.0002)",
            TwoPools,
            load,
            stream,
            rate=rate,
            interval=0.0002,
        )
    )
    rows.append(
        _measure(
            f"two pools + CPU step in ProcessPoolExecutor({processes})",
            lambda: ProcessOffload(processes),
            load,
            stream,
            rate=rate,
        )
    )
    for kind in ("waiting", "cpu"):
        same = [r for r in rows if r["load"]["kind"] == kind]
        base = next(r for r in same if r["name"] == "two pools (2 + 10)")
        for row in same:
            row["p99_x_two_pools"] = ratio(row["p99_ms"], base["p99_ms"])
            row["p50_x_two_pools"] = ratio(row["p50_ms"], base["p50_ms"])
    return {"rows": rows, "burn_iterations_per_s": round(rate), "processes": processes}
