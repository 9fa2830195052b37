"""Two ways to see how the work of a parser grows with its input, neither of them a stopwatch claim.

* ``python_lines(fn, *args)`` counts the Python lines executed while ``fn`` runs (``sys.settrace``):
  a deterministic operation count of every Python-level step, ours and the libraries'. It cannot
  see work done in C (the json scanner, ``re``, ``str`` methods).
* ``cpu_growth(fn, small, large)`` is the ratio of the processor time ``fn(large)`` takes to the
  time ``fn(small)`` takes, each the fastest of a few runs, measured on this thread's CPU clock (so
  other processes on a shared machine do not count). It sees C-level work too. Only the ratio is
  ever asserted, and only against a bound far from both linear and quadratic growth: for inputs
  eight times larger, linear work grows about 8 times and quadratic work 64 times;
  ``LINEAR_BOUND`` sits between them.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

SCALE = 8  # the large input is this many times the small one
LINEAR_BOUND = 24.0  # 3x slack over linear growth (8x), well under quadratic growth (64x)
LINES_BOUND = SCALE * 1.25  # Python-level steps are counted exactly: little slack is needed


def python_lines(fn: Callable[..., Any], *args: Any) -> int:
    """How many Python lines run during ``fn(*args)``; ``fn`` handles the refusals it expects."""
    count = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn(*args)
    finally:
        sys.settrace(previous)
    return count


def _cpu_seconds(fn: Callable[..., Any], arg: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        fn(arg)
        best = min(best, time.thread_time() - start)
    return max(best, 1e-6)


def cpu_growth(fn: Callable[[Any], Any], small: Any, large: Any, repeats: int = 5) -> float:
    """``cpu(fn(large)) / cpu(fn(small))``, each the fastest of ``repeats`` runs, garbage collection off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        fn_small = _cpu_seconds(fn, small, repeats)
        fn_large = _cpu_seconds(fn, large, repeats)
    finally:
        if enabled:
            gc.enable()
    return fn_large / fn_small
