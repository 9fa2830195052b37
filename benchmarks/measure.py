"""Timing, percentiles and machine facts shared by every benchmark family.

Every number the benchmarks print is either a ratio against a baseline
measured in the same run, or an absolute time labelled as this machine's. The
helpers here make that easy to keep true:

* ``per_op_ns`` times a loop with ``time.perf_counter_ns`` and the garbage
  collector off, several times, and keeps the median: one slow repeat (another
  process took the core) does not move it.
* ``latency_summary`` turns raw samples into p50/p99/max in milliseconds.
* ``machine`` says what the numbers were measured on.
* ``Gate`` holds a pool's workers blocked, so that an enqueue benchmark
  measures the enqueue and not the work.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

__all__ = [
    "DEADLOCK",
    "Gate",
    "Timed",
    "gc_disabled",
    "interleaved",
    "latency_summary",
    "machine",
    "once_ns",
    "per_op_ns",
    "percentile",
    "ratio",
    "skipped",
    "switch_interval",
]

DEADLOCK = (
    30.0  # seconds: a deadlock detector for the waits below, never a latency claim
)


@contextmanager
def gc_disabled() -> Iterator[None]:
    """Keep the cyclic garbage collector out of a timing loop (restored afterwards)."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class Timed:
    """A timing loop, and what runs around each repeat outside the timed region.

    ``before`` builds a fresh state (a new pool with its workers held, an empty
    broker), ``after`` tears it down, so every repeat starts from the same place.
    """

    loop: Callable[[int], object]
    before: Callable[[], object] | None = None
    after: Callable[[], object] | None = None


# --8<-- [start:per-op]
def once_ns(timed: Timed, n: int) -> float:
    """One repeat: nanoseconds per operation of ``timed.loop(n)``, garbage collector
    off."""
    if timed.before is not None:
        timed.before()
    with gc_disabled():
        start = time.perf_counter_ns()
        timed.loop(n)
        elapsed = time.perf_counter_ns() - start
    if timed.after is not None:
        timed.after()
    return elapsed / n


def interleaved(
    rows: dict[str, Timed], n: int, repeats: int
) -> dict[str, dict[str, Any]]:
    """Time every row ``repeats`` times, taking turns, and keep each row's median.

    Taking turns (row A, B, C, then A, B, C again) spreads every row over the
    same stretch of time, so a burst of load from another process on a shared
    machine hits all rows alike instead of skewing one ratio.
    """
    runs: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(repeats):
        for name, timed in rows.items():
            runs[name].append(once_ns(timed, n))
    return {
        name: {
            "ns": statistics.median(r),
            "runs_ns": [round(x, 1) for x in r],
            "n": n,
            "repeats": repeats,
        }
        for name, r in runs.items()
    }
    # --8<-- [end:per-op]


def per_op_ns(
    loop: Callable[[int], object],
    n: int,
    repeats: int,
    *,
    before: Callable[[], object] | None = None,
    after: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """One row timed on its own: ``interleaved`` with a single row."""
    return interleaved({"row": Timed(loop, before, after)}, n, repeats)["row"]


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by the nearest-rank method: always one of the
    samples."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(samples_ns: list[int]) -> dict[str, Any]:
    """p50, p99, max and mean of latency samples, in milliseconds."""
    ms = [s / 1e6 for s in samples_ns]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 4),
        "p99_ms": round(percentile(ms, 99), 4),
        "max_ms": round(max(ms), 4),
        "mean_ms": round(statistics.fmean(ms), 4),
    }


def ratio(value: float, baseline: float) -> float | None:
    """``value / baseline``, rounded; None when the baseline is zero or missing."""
    if not baseline:
        return None
    return round(value / baseline, 3)


def skipped(reason: str) -> dict[str, Any]:
    """The record of a row that could not be measured, with the reason shown in every
    output."""
    return {"skipped": reason}


@contextmanager
def switch_interval(seconds: float | None) -> Iterator[None]:
    """Run with ``sys.setswitchinterval(seconds)`` (None: leave it), restoring the old
    value."""
    old = sys.getswitchinterval()
    if seconds is not None:
        sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


class Gate:
    """Blocking tasks that hold workers busy until ``open()``, and a count of how many
    started."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._entered = threading.Semaphore(0)

    def task(self, *_: object) -> None:
        self._entered.release()
        self._open.wait()

    def wait_entered(self, n: int) -> None:
        """Block until ``n`` tasks are inside (every worker of an n-worker pool is
        held)."""
        for _ in range(n):
            if not self._entered.acquire(timeout=DEADLOCK):
                raise TimeoutError(
                    f"fewer than {n} blocking tasks started within {DEADLOCK}s"
                )

    def open(self) -> None:
        self._open.set()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What these numbers were measured on: they hold for this machine only."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "gil": getattr(sys, "_is_gil_enabled", lambda: True)(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "load_average_at_start": load,
        "switch_interval_s": sys.getswitchinterval(),
        "versions": {
            name: _version(name)
            for name in (
                "dualqueue",
                "huey",
                "rq",
                "celery",
                "redis",
                "Django",
                "django-tasks",
                "django-tasks-db",
            )
        },
    }
