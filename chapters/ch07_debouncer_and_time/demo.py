"""Chapter 7 demo: the Timer debouncer's threads and overlaps, then the real one.

The real one runs on a clock the demo moves.

    python -m chapters.ch07_debouncer_and_time.demo

Every number printed is measured on this run. The fifteen-second windows run on
a ``FakeClock``, so they take microseconds; the two real-time comparisons use
windows of a few hundredths of a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .clock import FakeClock, SystemClock
from .debounce import Debouncer
from .naive import TimerDebouncer
from .pool import WorkerPool

UPLOADS = 500
REAL_WAIT = 0.05  # seconds: the real-time comparisons only


@contextmanager
def counting_thread_starts() -> Iterator[list[int]]:
    """Count every ``threading.Thread.start`` in the block (a ``Timer`` is a thread)."""
    started = [0]
    original = threading.Thread.start

    def start(self: threading.Thread) -> None:
        started[0] += 1
        original(self)

    threading.Thread.start = start  # type: ignore[method-assign]
    try:
        yield started
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]


def threads_per_burst(
    make: Callable[[Callable[[list[Any]], object]], Any],
) -> tuple[int, list[int]]:
    """Trigger ``UPLOADS`` times in a burst; return (threads started, batch sizes of
    the runs)."""
    sizes: list[int] = []
    ran = threading.Event()

    def rebuild(batch: list[Any]) -> None:
        sizes.append(len(batch))
        ran.set()

    index = make(rebuild)
    with counting_thread_starts() as started:
        for n in range(UPLOADS):
            index.trigger(n)
        ran.wait(10.0)
    return started[0], sizes


def rebuilds_at_once(
    index: Any,
    advance: Callable[[], None],
    gate: threading.Event,
    entered: threading.Semaphore,
) -> int:
    """A slow rebuild is running; another burst's window elapses. How many rebuilds
    run at once?"""
    index.trigger("doc-1")
    advance()
    entered.acquire(timeout=10.0)  # the first rebuild is running, and blocked
    index.trigger("doc-2")
    advance()
    second = entered.acquire(timeout=0.5)  # did a second rebuild start beside it?
    gate.set()
    return 2 if second else 1


def slow_rebuilds(
    batches: list[list[Any]],
) -> tuple[Callable[[list[Any]], None], threading.Event, threading.Semaphore]:
    gate, entered = threading.Event(), threading.Semaphore(0)

    def rebuild(batch: list[Any]) -> None:
        entered.release()
        gate.wait(10.0)
        batches.append(list(batch))

    return rebuild, gate, entered


def main(print: Callable[..., None] = print) -> dict[str, Any]:
    result: dict[str, Any] = {}

    timer_threads, timer_runs = threads_per_burst(
        lambda fn: TimerDebouncer(fn, wait=REAL_WAIT)
    )
    clock_threads, clock_runs = threads_per_burst(
        lambda fn: Debouncer(fn, wait=REAL_WAIT, clock=SystemClock())
    )
    print(f"{UPLOADS} uploads in a burst, {REAL_WAIT} s window:")
    print(
        f"  TimerDebouncer started {timer_threads} threads for runs of {timer_runs} "
        "item(s)"
    )
    print(
        f"  Debouncer on a SystemClock started {clock_threads} thread for runs of "
        f"{clock_runs} item(s)"
    )
    result["threads"] = {"TimerDebouncer": timer_threads, "Debouncer": clock_threads}

    clock = FakeClock()
    runs: list[tuple[float, list[str]]] = []
    index = Debouncer(
        lambda batch: runs.append((clock.now(), batch)), wait=15, clock=clock
    )
    started = time.perf_counter()
    for at, doc in [(0, "doc-1"), (4, "doc-2"), (9, "doc-3"), (30, "doc-4")]:
        clock.advance(at - clock.now())
        index.trigger(doc)
    clock.advance(60)
    took = time.perf_counter() - started
    print(f"the 15 s window on a FakeClock: uploads at 0, 4, 9 and 30 s -> runs {runs}")
    print(f"  a minute of fake time took {took * 1000:.2f} ms of real time")
    result["bursts"] = runs

    settled: dict[str, list[float]] = {}
    for label, max_wait in (("no max_wait", None), ("max_wait=60", 60.0)):
        clock = FakeClock()
        at: list[float] = []
        stream = Debouncer(
            lambda batch, clock=clock, at=at: at.append(clock.now()),
            wait=15,
            max_wait=max_wait,
            clock=clock,
        )
        for _ in range(360):  # an upload every 10 s for an hour
            stream.trigger("upload")
            clock.advance(10)
        settled[label] = at
    print(
        f"an upload every 10 s for an hour, wait=15: {len(settled['no max_wait'])} "
        "rebuilds without max_wait, "
        f"{len(settled['max_wait=60'])} with max_wait=60 (the first at "
        f"{settled['max_wait=60'][0]:.0f} s)"
    )
    result["steady_stream"] = {label: len(at) for label, at in settled.items()}

    timer_batches: list[list[Any]] = []
    rebuild, gate, entered = slow_rebuilds(timer_batches)
    at_once_timer = rebuilds_at_once(
        TimerDebouncer(rebuild, wait=REAL_WAIT), lambda: None, gate, entered
    )

    clock = FakeClock()
    pool = WorkerPool("index", workers=2, clock=clock)
    batches: list[list[Any]] = []
    rebuild, gate, entered = slow_rebuilds(batches)
    single = Debouncer(rebuild, wait=15, pool=pool, clock=clock)
    at_once = rebuilds_at_once(single, lambda: clock.advance(15), gate, entered)
    pool.join(10.0)
    clock.advance(
        15
    )  # the follow-up's window has already elapsed: it is running or done
    pool.join(10.0)
    print(
        "a rebuild slower than the window, then another upload: TimerDebouncer ran "
        f"{at_once_timer} rebuilds "
        f"at once; Debouncer ran {at_once}, then one follow-up: batches {batches}"
    )
    result["at_once"] = {"TimerDebouncer": at_once_timer, "Debouncer": at_once}
    result["follow_up"] = batches
    return result


if __name__ == "__main__":
    from chapters.page import page_print  # lines that fit the page

    main(print=page_print)
