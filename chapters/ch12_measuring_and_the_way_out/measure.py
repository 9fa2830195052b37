"""Measuring honestly: raw samples, percentiles, medians of repeats, ratios from one
run.

Three habits, each a function here:

* time with ``time.perf_counter_ns``: a monotonic clock with the best resolution the
  platform has, in integer nanoseconds (no float rounding on long runs);
* report percentiles of the raw samples (p50, p90, p99, max), never a mean: one
  stall of 300 ms among 200 samples moves the mean and hides in the median, and
  the p99 is where users feel it;
* compare within one run: a per-call cost is the median of several repeats, and
  is shown as a ratio to a baseline measured in the same process, minutes apart
  at most, on the same (shared, noisy) machine. Absolute numbers from another
  day or another machine are not comparable.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Latency", "per_call_ns", "percentile"]


# --8<-- [start:percentile]
def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``samples``, nearest rank: always one of the
    samples."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, got {q!r}")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Latency:
    """Percentiles of a set of waits, in milliseconds."""

    n: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of_ns(cls, samples_ns: Sequence[int]) -> Latency:
        ms = [sample / 1e6 for sample in samples_ns]
        return cls(
            len(ms), percentile(ms, 50), percentile(ms, 90), percentile(ms, 99), max(ms)
        )
        # --8<-- [end:percentile]


# --8<-- [start:per-call]
def per_call_ns(
    loop: Callable[[int], object],
    n: int,
    repeats: int = 5,
    setup: Callable[[], object] | None = None,
    teardown: Callable[[], object] | None = None,
) -> float:
    """Nanoseconds per call of ``loop(n)`` (which makes ``n`` calls): the median of
    ``repeats`` runs.

    ``setup``/``teardown`` run around each repeat, outside the timed region. The
    garbage collector is off while timing, so that a collection triggered by one
    implementation's allocations is not charged to whichever runs next.
    """
    costs = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter_ns()
            loop(n)
            costs.append((time.perf_counter_ns() - started) / n)
        finally:
            gc.enable()
            if teardown is not None:
                teardown()
    return statistics.median(costs)
    # --8<-- [end:per-call]
