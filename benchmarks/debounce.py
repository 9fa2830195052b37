"""A burst of triggers against a real clock: what each trigger costs, how many runs, how
late.

The seed system's search index: every upload calls ``trigger(document_id)``,
and one rebuild runs once the uploads have been quiet for the window. Here a
burst of 10,000 triggers (as fast as one thread can call ``trigger``) goes
into a ``Debouncer`` on a real ``SystemClock`` with a short window, whose run
goes to a ``WorkerPool``. Measured per burst:

* the cost of one ``trigger`` (the burst's time / its size, gc off);
* the number of runs (must be exactly 1) and the items delivered (must be all, in
order);
* how late the run starts: its first line minus (last trigger + window).

A trigger moves the due time; it does not start a timer. So the cost stays
flat with the burst's size, and only a handful of timers are armed per burst,
not 10,000: ``timers_armed`` counts them, through a clock that passes every
call on to the real one.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from dualqueue import Clock, Debouncer, Handle, SystemClock, WorkerPool

from .measure import DEADLOCK, gc_disabled

__all__ = ["SIZES", "burst", "run", "summarize"]

SIZES = {
    "full": (10_000, 0.2, 7),
    "quick": (10_000, 0.2, 3),
}  # (triggers per burst, window s, bursts)


class CountingClock:
    """A clock that passes every call through to ``clock`` and counts the timers armed
    on it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.timers = 0

    def now(self) -> float:
        return self.clock.now()

    def wall(self) -> float:
        return self.clock.wall()

    def call_later(self, delay: float, fn: Callable[[], object]) -> Handle:
        self.timers += 1
        return self.clock.call_later(delay, fn)


# --8<-- [start:burst]
def burst(triggers: int, wait: float, *, clock: Clock | None = None) -> dict[str, Any]:
    """Trigger a fresh debouncer ``triggers`` times in a row; report cost, runs and
    lateness.

    With a ``FakeClock`` (tests) the window is advanced by hand instead of waited for.
    """
    real = clock or SystemClock()
    clock = CountingClock(real)  # counts the timers the debouncer arms
    pool = WorkerPool("general", workers=2, clock=clock)
    ran = threading.Event()
    runs: list[tuple[float, list[int]]] = []

    def rebuild_index(batch: list[int]) -> None:
        runs.append((clock.now(), batch))
        ran.set()

    index = Debouncer(
        rebuild_index, wait=wait, pool=pool, clock=clock, name="search-index"
    )
    trigger = index.trigger
    with gc_disabled():
        start = time.perf_counter_ns()
        for document_id in range(triggers):
            trigger(document_id)
        elapsed = time.perf_counter_ns() - start
        last_trigger_at = clock.now()
    advance = getattr(real, "advance", None)
    if advance is not None:
        advance(wait)
    if not ran.wait(DEADLOCK):
        raise TimeoutError("the debounced run never started")
    pool.join(DEADLOCK)
    if advance is not None:
        advance(
            wait
        )  # a second run, if one were wrongly scheduled, would fall due here
    else:
        time.sleep(
            wait
        )  # a benchmark, not a test: give a wrong second run the time to show up
    pool.join(DEADLOCK)
    pool.shutdown(timeout=DEADLOCK)
    started_at, batch = runs[0]
    return {
        "triggers": triggers,
        "ns_per_trigger": round(elapsed / triggers, 1),
        "burst_ms": round(elapsed / 1e6, 3),
        "runs": len(runs),
        "delivered": sum(len(b) for _, b in runs),
        "in_order": batch == list(range(triggers)),
        "late_ms": round((started_at - (last_trigger_at + wait)) * 1000, 3),
        "timers_armed": clock.timers,
        "snapshot_runs": index.snapshot()["runs"],
    }
    # --8<-- [end:burst]


def run(
    quick: bool = False, *, size: tuple[int, float, int] | None = None
) -> dict[str, Any]:
    """Several bursts, each on a fresh debouncer and a fresh ``SystemClock``."""
    triggers, wait, bursts = size or SIZES["quick" if quick else "full"]
    return summarize([burst(triggers, wait) for _ in range(bursts)], triggers, wait)


def summarize(
    results: list[dict[str, Any]], triggers: int, wait: float
) -> dict[str, Any]:
    """The family's result from several bursts of ``triggers`` each."""
    late = [r["late_ms"] for r in results]
    return {
        "triggers_per_burst": triggers,
        "window_s": wait,
        "bursts": results,
        "ns_per_trigger_median": statistics.median(
            r["ns_per_trigger"] for r in results
        ),
        "runs_per_burst": sorted({r["runs"] for r in results}),
        "all_delivered_in_order": all(
            r["delivered"] == triggers and r["in_order"] for r in results
        ),
        "late_ms_median": statistics.median(late),
        "late_ms_max": max(late),
        "timers_armed_max": max(r["timers_armed"] for r in results),
    }
