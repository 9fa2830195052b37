"""The behaviour suite, late features: one specification, run against every chapter that
has the feature.

Each test names the features it needs with ``@pytest.mark.feature(...)`` and
runs once per chapter that has them, and once against the reference core
(see ``conftest.py``). The names a chapter exports for these features, beyond
the early ones (the reference's names and signatures):

* ``stats``/``snapshot``: ``WorkerPool.snapshot()`` and ``TaskSystem.snapshot()``;
  the pool counts through ``_task_succeeded(slot)`` under ``_mutex`` into
  ``_stats`` (the interleaving explorer of chapter 6 steps through it);
* ``clock``: ``SystemClock``, ``FakeClock``; pools and systems take ``clock=``;
* ``debouncer``: ``Debouncer(fn, wait, max_wait, pool, clock)``;
* ``retries``: ``Retry``; ``dead_letters``: ``WorkerPool(..., dead_letters=N)``;
* ``shutdown``: ``shutdown(timeout)`` returning a ``ShutdownReport``,
``PoolClosedError``;
* ``fork``, ``exit_drain``: checked in a forked child and in a subprocess.

At the end, each test that has a broken variant is pointed at it and must fail.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dualqueue
import pytest
from chapters.broken import (
    FixedWindowDebouncer,
    ForgetfulDebouncer,
    ForgetfulShutdownPool,
    NoForkResetPool,
    UnboundedDeadLetterPool,
    UnlockedStatsPool,
)
from chapters.ch06_stats_under_a_lock import NaiveStatsPool
from chapters.ch06_stats_under_a_lock.experiment import consistent, two_workers_finish
from chapters.ch08_failures_and_retries import ExceptionOnlyPool, InPlaceRetry
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.forking import FORK_WITH_THREADS

from .conftest import CHAPTERS, FEATURE_VOCABULARY, Chapter, broken_chapter
from .support import DEADLOCK, IMPOSSIBLE, Gate, boom, thread_deaths, unique, wait_for

ROOT = Path(__file__).resolve().parents[2]


def exiting() -> None:
    raise SystemExit(1)


# -- stats -----------------------------------------------------------------


@pytest.mark.feature("stats", "snapshot")
def test_once_idle_the_counts_equal_the_workload(chapter: Chapter) -> None:
    pool = chapter.pool(workers=3, name=unique())
    workload = ["ok"] * 7 + ["raise"] * 4 + ["exit"] * 2
    run = {"ok": lambda: None, "raise": boom, "exit": exiting}
    for kind in workload:
        pool.submit(run[kind])
    assert pool.join(DEADLOCK)
    s = pool.snapshot()
    assert (s["submitted"], s["succeeded"], s["failed"], s["queued"], s["running"]) == (
        13,
        7,
        6,
        0,
        0,
    ), s
    assert s["alive_workers"] == 3, "a worker died of a task"
    chapter.finish(pool)


# --8<-- [start:no-lost-update]
@pytest.mark.feature("stats", "snapshot")
def test_no_preemption_of_a_finishing_worker_loses_a_count_or_tears_a_snapshot(
    chapter: Chapter,
) -> None:
    verdict = two_workers_finish(chapter.module.WorkerPool)
    assert verdict.explored >= 10, (
        "the exploration did not step through the counting code"
    )
    assert verdict.lost_updates == [], (
        f"a count was lost when worker 0 was preempted at {verdict.lost_updates}"
    )
    assert verdict.torn_snapshots == [], (
        f"a snapshot broke the invariant at {verdict.torn_snapshots}"
    )
    # --8<-- [end:no-lost-update]


@pytest.mark.feature("stats", "snapshot")
def test_every_snapshot_under_concurrent_load_is_consistent_and_no_total_decreases(
    chapter: Chapter,
) -> None:
    pool = chapter.pool(workers=3, name=unique())
    run = [lambda: None, boom, exiting]
    snapshots: list[dict[str, Any]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            snapshots.append(pool.snapshot())

    def produce(offset: int) -> None:
        for n in range(150):
            pool.submit(run[(n + offset) % 3])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    reader = threading.Thread(target=read)
    producers = [threading.Thread(target=produce, args=(k,)) for k in range(3)]
    try:
        reader.start()
        for t in producers:
            t.start()
        for t in producers:
            t.join(DEADLOCK)
        assert pool.join(DEADLOCK)
    finally:
        stop.set()
        reader.join(DEADLOCK)
        sys.setswitchinterval(interval)
    snapshots.append(pool.snapshot())
    torn = [s for s in snapshots if not consistent(s)]
    assert not torn, (
        f"{len(torn)} of {len(snapshots)} snapshots broke the invariant, e.g. {torn[0]}"
    )
    for before, after in itertools.pairwise(snapshots):
        for total in ("submitted", "succeeded", "failed", "dropped", "rejected"):
            assert after[total] >= before[total], (
                f"{total} decreased: {before[total]} -> {after[total]}"
            )
    assert (
        snapshots[-1]["submitted"],
        snapshots[-1]["succeeded"],
        snapshots[-1]["failed"],
    ) == (450, 150, 300)
    chapter.finish(pool)


@pytest.mark.feature("stats", "snapshot", "bounded")
def test_a_refused_submit_is_counted_as_rejected_and_not_as_submitted(
    chapter: Chapter,
) -> None:
    pool = chapter.pool(workers=1, maxsize=1, name=unique())
    gate = Gate()
    try:
        pool.submit(gate.task)
        assert gate.wait_until_entered(1)
        pool.submit(gate.task)
        for _ in range(3):
            with pytest.raises(chapter.module.QueueFullError):
                pool.submit(gate.task)
        s = pool.snapshot()
    finally:
        gate.open()
    assert (s["submitted"], s["rejected"], s["queued"], s["running"]) == (2, 3, 1, 1), s
    assert consistent(s)
    chapter.finish(pool)


# -- snapshot --------------------------------------------------------------

POOL_FIELDS = {
    "name",
    "workers",
    "alive_workers",
    "queued",
    "running",
    "submitted",
    "succeeded",
    "failed",
    "dropped",
    "rejected",
    "last_submitted_at",
    "last_finished_at",
    "last_error",
    "oldest_queued_seconds",
}


@pytest.mark.feature("snapshot")
def test_a_pool_snapshot_is_json_with_every_field_the_status_page_needs(
    chapter: Chapter,
) -> None:
    name = unique()
    pool = chapter.pool(workers=2, name=name)
    idle = pool.snapshot()
    assert idle.keys() >= POOL_FIELDS, f"missing {sorted(POOL_FIELDS - idle.keys())}"
    assert json.loads(json.dumps(idle)) == idle, "the snapshot is not plain JSON"
    assert (
        idle["name"],
        idle["workers"],
        idle["alive_workers"],
        idle["submitted"],
    ) == (name, 2, 0, 0)
    assert (
        idle["last_submitted_at"] is None
        and idle["last_error"] is None
        and idle["oldest_queued_seconds"] is None
    )
    pool.submit(lambda: None)
    assert pool.join(DEADLOCK)
    busy = pool.snapshot()
    assert busy["alive_workers"] == 2
    for stamp in ("last_submitted_at", "last_finished_at"):
        assert isinstance(busy[stamp], str) and busy[stamp].endswith("+00:00"), (
            f"{stamp} is not an ISO UTC time"
        )
    chapter.finish(pool)


@pytest.mark.feature("snapshot", "task_system")
def test_a_system_snapshot_names_the_process_and_shows_every_pool(
    chapter: Chapter,
) -> None:
    tasks = chapter.task_system(general=1, site=2)
    tasks.submit("site", lambda: None)
    assert tasks.join(DEADLOCK)
    picture = tasks.snapshot()
    assert picture["pid"] == os.getpid()
    assert isinstance(picture["started_at"], str)
    assert sorted(picture["pools"]) == ["general", "site"]
    assert (
        picture["pools"]["site"]["succeeded"],
        picture["pools"]["general"]["submitted"],
    ) == (1, 0)
    assert json.loads(json.dumps(picture)) == picture
    chapter.finish(tasks)


@pytest.mark.feature("snapshot")
def test_last_error_is_type_and_first_line_never_a_traceback_or_an_argument(
    chapter: Chapter,
) -> None:
    pool = chapter.pool(workers=1, name=unique())
    secret = "user-4242@example.com"

    def send_reset_email(address: str) -> None:
        raise ConnectionError(
            "421 service not available\nTraceback (most recent call last):\n"
            + "x" * 900
        )

    def analyse(site_id: int) -> None:
        raise ValueError("y" * 900)

    pool.submit(send_reset_email, secret)
    assert pool.join(DEADLOCK)
    error = pool.snapshot()["last_error"]
    assert (error["type"], error["message"]) == (
        "ConnectionError",
        "421 service not available",
    )
    assert isinstance(error["at"], str)
    pool.submit(analyse, 7)
    assert pool.join(DEADLOCK)
    shown = pool.snapshot()
    assert shown["last_error"]["type"] == "ValueError"
    assert len(shown["last_error"]["message"]) <= 200, "the message was not shortened"
    assert secret not in json.dumps(shown) and "Traceback" not in json.dumps(shown)
    chapter.finish(pool)


@pytest.mark.feature("snapshot")
def test_levels_show_what_runs_and_what_waits_and_the_oldest_wait_grows(
    chapter: Chapter,
) -> None:
    pool = chapter.pool(workers=2, name=unique())
    gate = Gate()
    try:
        for _ in range(5):
            pool.submit(gate.task)
        assert gate.wait_until_entered(2)
        first = pool.snapshot()
        second = pool.snapshot()
    finally:
        gate.open()
    assert (first["running"], first["queued"]) == (2, 3), first
    assert first["oldest_queued_seconds"] >= 0
    assert second["oldest_queued_seconds"] >= first["oldest_queued_seconds"], (
        "the oldest wait went backwards"
    )
    assert pool.join(DEADLOCK)
    assert pool.snapshot()["oldest_queued_seconds"] is None
    chapter.finish(pool)


# -- clock -----------------------------------------------------------------


@pytest.mark.feature("clock")
def test_a_fake_clock_runs_what_falls_due_in_order_including_what_callbacks_schedule(
    chapter: Chapter,
) -> None:
    clock = chapter.module.FakeClock()
    fired: list[tuple[str, float]] = []

    def note(label: str) -> Callable[[], None]:
        return lambda: fired.append((label, clock.now()))

    clock.call_later(5, note("five"))
    clock.call_later(2, lambda: (note("two")(), clock.call_later(1, note("two+one"))))
    clock.call_later(5, note("five, scheduled second"))
    clock.advance(2.5)
    assert fired == [("two", 2.0)]
    clock.advance(10)
    assert fired == [
        ("two", 2.0),
        ("two+one", 3.0),
        ("five", 5.0),
        ("five, scheduled second", 5.0),
    ]
    assert clock.now() == 12.5


@pytest.mark.feature("clock")
def test_a_cancelled_call_never_runs_and_a_negative_delay_is_refused(
    chapter: Chapter,
) -> None:
    clock = chapter.module.FakeClock()
    fired: list[int] = []
    handle = clock.call_later(1, lambda: fired.append(1))
    handle.cancel()
    clock.advance(5)
    assert fired == []
    for bad in (-1, float("nan")):
        with pytest.raises(ValueError, match="delay"):
            clock.call_later(bad, lambda: None)
        with pytest.raises(ValueError, match="delay"):
            chapter.module.SystemClock().call_later(bad, lambda: None)


@pytest.mark.feature("clock")
def test_a_system_clock_runs_every_call_on_one_thread_of_its_own_in_due_order(
    chapter: Chapter,
) -> None:
    clock = chapter.module.SystemClock()
    ran: list[tuple[str, str]] = []
    done = threading.Event()

    def record(label: str) -> Callable[[], None]:
        return lambda: ran.append((label, threading.current_thread().name))

    def schedule_three() -> None:
        # Scheduled from the clock's own thread, so all three are in before it looks
        # again: their order is decided by due time alone, not by how fast this test
        # runs.
        clock.call_later(0.02, lambda: (record("third")(), done.set()))
        clock.call_later(0.01, record("second"))
        clock.call_later(0.0, record("first"))

    clock.call_later(0, schedule_three)
    assert done.wait(DEADLOCK)
    assert [label for label, _ in ran] == ["first", "second", "third"]
    threads = {name for _, name in ran}
    assert len(threads) == 1 and threading.current_thread().name not in threads


@pytest.mark.feature("clock", "snapshot")
def test_a_pools_times_and_ages_come_from_its_clock(chapter: Chapter) -> None:
    clock = chapter.module.FakeClock(wall_start=1_700_000_000.0)
    pool = chapter.module.WorkerPool(unique(), workers=1, clock=clock)
    gate = Gate()
    try:
        pool.submit(gate.task)
        assert gate.wait_until_entered(1)
        clock.advance(30)
        pool.submit(gate.task)
        clock.advance(600)
        s = pool.snapshot()
    finally:
        gate.open()
    assert s["oldest_queued_seconds"] == 600.0
    assert s["oldest_running_seconds"] == 630.0
    # wall_start + 30 s
    assert s["last_submitted_at"] == "2023-11-14T22:13:50.000+00:00"
    chapter.finish(pool)


# -- debouncer -------------------------------------------------------------


# --8<-- [start:burst-model]
def expected_runs(
    times: list[float], wait: float, max_wait: float | None
) -> list[tuple[float, list[int]]]:
    """The model: (run time, items) for each burst of triggers at ``times`` (item i
    triggered at times[i])."""
    runs: list[tuple[float, list[int]]] = []
    items: list[int] = []
    first = last = 0.0
    for i, t in enumerate(times):
        # the window closed before this trigger
        if items and t >= _due(first, last, wait, max_wait):
            runs.append((_due(first, last, wait, max_wait), items))
            items = []
        if not items:
            first = t
        last = t
        items.append(i)
    if items:
        runs.append((_due(first, last, wait, max_wait), items))
    return runs


def _due(first: float, last: float, wait: float, max_wait: float | None) -> float:
    return last + wait if max_wait is None else min(last + wait, first + max_wait)
# --8<-- [end:burst-model]


# --8<-- [start:burst-check]
def observed_runs(
    chapter: Chapter, gaps: list[int], wait: float, max_wait: float | None
) -> list[tuple[float, list[int]]]:
    """Trigger item i after gaps[i] seconds of fake time, then let everything settle;
    return the runs."""
    clock = chapter.module.FakeClock()
    runs: list[tuple[float, list[int]]] = []
    debouncer = chapter.module.Debouncer(
        lambda batch: runs.append((clock.now(), list(batch))),
        wait=wait,
        max_wait=max_wait,
        clock=clock,
    )
    for i, gap in enumerate(gaps):
        clock.advance(gap)
        debouncer.trigger(i)
    clock.advance(10 * (wait + (max_wait or 0)) + 1)
    assert not debouncer.pending
    return runs


def check_runs_are_the_bursts(
    chapter: Chapter, gaps: list[int], wait: int, max_wait: int | None = None
) -> None:
    times = [float(sum(gaps[: i + 1])) for i in range(len(gaps))]
    runs = observed_runs(chapter, gaps, wait, max_wait)
    assert runs == expected_runs(times, wait, max_wait), (
        f"triggers at {times}, wait={wait}: runs {runs}"
    )
    assert [item for _, batch in runs for item in batch] == list(range(len(gaps))), (
        "an item was lost or reordered"
    )
# --8<-- [end:burst-check]


gap_lists = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=25)


@pytest.mark.feature("debouncer", "clock")
@pytest.mark.parametrize(
    ("gaps", "wait"),
    [
        ([0], 15),
        ([0, 5, 5, 5], 15),
        ([0, 14, 14, 14, 15, 0], 15),
        ([0, 20, 20], 15),
        ([0, 0, 0], 1),
    ],
    ids=["one", "burst", "burst-then-gap", "three-bursts", "same-instant"],
)
def test_runs_are_exactly_the_bursts_each_at_its_last_trigger_plus_wait(
    chapter: Chapter, gaps: list[int], wait: int
) -> None:
    check_runs_are_the_bursts(chapter, gaps, wait)


@pytest.mark.feature("debouncer", "clock")
@given(gaps=gap_lists, wait=st.integers(min_value=1, max_value=20))
@settings(max_examples=30)
def test_for_any_triggers_the_runs_are_the_bursts(
    chapter: Chapter, gaps: list[int], wait: int
) -> None:
    check_runs_are_the_bursts(chapter, gaps, wait)


@pytest.mark.feature("debouncer", "clock")
@given(
    gaps=gap_lists,
    wait=st.integers(min_value=1, max_value=20),
    extra=st.integers(min_value=0, max_value=30),
)
@settings(max_examples=30)
def test_with_max_wait_no_item_waits_longer_than_max_wait(
    chapter: Chapter, gaps: list[int], wait: int, extra: int
) -> None:
    check_runs_are_the_bursts(chapter, gaps, wait, wait + extra)
    times = [float(sum(gaps[: i + 1])) for i in range(len(gaps))]
    for run_at, batch in observed_runs(chapter, gaps, wait, wait + extra):
        assert run_at - times[batch[0]] <= wait + extra, (
            "an item waited longer than max_wait"
        )


# --8<-- [start:never-settles]
@pytest.mark.feature("debouncer", "clock")
def test_a_steady_stream_postpones_a_plain_debounce_forever_and_max_wait_bounds_it(
    chapter: Chapter,
) -> None:
    def runs_in_an_hour_of_uploads_every_10_seconds(
        max_wait: float | None,
    ) -> list[float]:
        clock = chapter.module.FakeClock()
        runs: list[float] = []
        index = chapter.module.Debouncer(
            lambda batch: runs.append(clock.now()),
            wait=15,
            max_wait=max_wait,
            clock=clock,
        )
        for _ in range(360):
            index.trigger("upload")
            clock.advance(10)
        return runs

    assert runs_in_an_hour_of_uploads_every_10_seconds(max_wait=None) == [], (
        "the window settled mid-stream"
    )
    bounded = runs_in_an_hour_of_uploads_every_10_seconds(max_wait=60)
    assert bounded == [60.0 * k for k in range(1, 61)], bounded
# --8<-- [end:never-settles]


# --8<-- [start:single-flight]
def check_single_flight(chapter: Chapter, before: int, during: int) -> None:
    """``before`` triggers, a run that blocks, ``during`` triggers meanwhile: exactly
    one follow-up, no overlap."""
    clock = chapter.module.FakeClock()
    # 4 workers: overlap is possible
    pool = chapter.module.WorkerPool(unique("index"), workers=4, clock=clock)
    gate = Gate()
    batches: list[list[int]] = []
    in_flight = max_in_flight = 0
    lock = threading.Lock()

    def rebuild(batch: list[int]) -> None:
        nonlocal in_flight, max_in_flight
        with lock:
            in_flight += 1
            max_in_flight = max(max_in_flight, in_flight)
        if not batches:
            gate.task()  # the first rebuild is slow
        with lock:
            in_flight -= 1
            batches.append(list(batch))

    index = chapter.module.Debouncer(rebuild, wait=15, pool=pool, clock=clock)
    items = iter(range(100))
    try:
        for _ in range(before):
            index.trigger(next(items))
        clock.advance(15)
        assert gate.wait_until_entered(1), "the first rebuild never started"
        for _ in range(during):
            clock.advance(4)
            index.trigger(next(items))
        # every window has elapsed while the first rebuild is still running
        clock.advance(60)
        assert index.running, "the first rebuild is not shown as running"
        assert index.pending == (during > 0), (
            "the triggers during the run are not pending for a follow-up"
        )
    finally:
        gate.open()
    assert pool.join(DEADLOCK)
    clock.advance(60)
    assert pool.join(DEADLOCK)
    assert max_in_flight == 1, "two rebuilds ran at once"
    assert [item for batch in batches for item in batch] == list(
        range(before + during)
    ), batches
    assert len(batches) == 1 + (during > 0), (
        f"{len(batches)} runs for one burst and {during} triggers during it"
    )
    chapter.finish(pool)
# --8<-- [end:single-flight]


@pytest.mark.feature("debouncer", "clock")
@pytest.mark.parametrize(("before", "during"), [(1, 0), (3, 1), (2, 7)])
def test_triggers_during_a_run_get_exactly_one_follow_up_and_runs_never_overlap(
    chapter: Chapter, before: int, during: int
) -> None:
    check_single_flight(chapter, before, during)


@pytest.mark.feature("debouncer", "clock")
def test_flush_runs_the_pending_batch_now_and_cancel_drops_and_counts_it(
    chapter: Chapter,
) -> None:
    clock = chapter.module.FakeClock()
    runs: list[list[str]] = []
    index = chapter.module.Debouncer(runs.append, wait=15, clock=clock)
    assert index.flush() is False and index.cancel() == 0
    index.trigger("a")
    index.trigger("b")
    assert index.pending and index.flush() is True
    assert runs == [["a", "b"]] and not index.pending
    index.trigger("c")
    assert index.cancel() == 1
    clock.advance(100)
    assert runs == [["a", "b"]], "a cancelled batch ran"
    s = index.snapshot()
    assert (s["triggers"], s["runs"], s["delivered"], s["dropped"], s["pending"]) == (
        3,
        1,
        2,
        1,
        False,
    )
    assert json.loads(json.dumps(s)) == s


@pytest.mark.feature("debouncer", "clock")
def test_a_failing_run_is_counted_and_never_leaves_the_guard_stuck(
    chapter: Chapter, caplog: pytest.LogCaptureFixture
) -> None:
    clock = chapter.module.FakeClock()
    runs: list[list[int]] = []

    def rebuild(batch: list[int]) -> None:
        runs.append(batch)
        if len(runs) == 1:
            raise sqlite3.OperationalError("database is locked")

    index = chapter.module.Debouncer(rebuild, wait=15, clock=clock)
    with caplog.at_level("ERROR", logger="dualqueue"):
        index.trigger(1)
        clock.advance(15)
    assert not index.running, "the single-flight guard is still held after a failed run"
    index.trigger(2)
    clock.advance(15)
    assert runs == [[1], [2]]
    s = index.snapshot()
    assert (s["runs"], s["failed_runs"], s["last_error"]["type"]) == (
        2,
        1,
        "sqlite3.OperationalError",
    )
    assert any(r.exc_info for r in caplog.records), (
        "the failed run was not logged with its traceback"
    )


@pytest.mark.feature("debouncer", "clock")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"wait": -1}, ValueError),
        ({"wait": float("nan")}, ValueError),
        ({"wait": 15, "max_wait": 10}, ValueError),
        ({"fn": "rebuild"}, TypeError),
        ({"pool": "general"}, TypeError),
    ],
    ids=[
        "negative-wait",
        "nan-wait",
        "max-wait-below-wait",
        "not-callable",
        "pool-by-name",
    ],
)
def test_bad_debouncer_settings_fail_at_construction(
    chapter: Chapter, kwargs: dict[str, Any], error: type
) -> None:
    arguments: dict[str, Any] = {
        "fn": print,
        "clock": chapter.module.FakeClock(),
        **kwargs,
    }
    with pytest.raises(error):
        chapter.module.Debouncer(**arguments)


@pytest.mark.feature("debouncer", "clock")
def test_a_burst_moves_one_timer_instead_of_scheduling_one_per_trigger(
    chapter: Chapter,
) -> None:
    clock = chapter.module.FakeClock()
    scheduled = 0
    call_later = clock.call_later

    def counting(delay: float, fn: Callable[[], object]) -> Any:
        nonlocal scheduled
        scheduled += 1
        return call_later(delay, fn)

    clock.call_later = counting
    runs: list[list[int]] = []
    index = chapter.module.Debouncer(runs.append, wait=15, clock=clock)
    for n in range(500):
        index.trigger(n)
        clock.advance(1)
    clock.advance(15)
    assert runs == [list(range(500))]
    assert scheduled <= 40, f"{scheduled} timers for 500 triggers"


@pytest.mark.feature("debouncer", "clock", "task_system", "snapshot")
def test_a_system_debouncer_runs_on_its_pool_and_shows_in_the_snapshot(
    chapter: Chapter,
) -> None:
    clock = chapter.module.FakeClock()
    tasks = chapter.module.TaskSystem(general=1, site=1, clock=clock)
    ran_on: list[str] = []
    index = tasks.debouncer(
        "search-index",
        lambda batch: ran_on.append(threading.current_thread().name),
        wait=15,
    )
    with pytest.raises(ValueError, match="already exists"):
        tasks.debouncer("search-index", print)
    with pytest.raises(KeyError, match="pools are"):
        tasks.debouncer("other", print, pool="email")
    index.trigger(1)
    index.trigger(2)
    shown = tasks.snapshot()["debouncers"]["search-index"]
    assert (
        shown["pending"],
        shown["pending_items"],
        shown["next_run_in"],
        shown["pool"],
    ) == (True, 2, 15.0, "general")
    clock.advance(15)
    assert tasks.join(DEADLOCK)
    assert len(ran_on) == 1 and ran_on[0].startswith("dualqueue-general-")
    assert tasks.snapshot()["pools"]["general"]["succeeded"] == 1
    chapter.finish(tasks)


# -- retries ---------------------------------------------------------------


class Flaky:
    """A task that raises ``error`` for its first ``failures`` calls, then succeeds; it
    records when it ran."""

    def __init__(
        self, clock: Any, failures: int, error: BaseException | None = None
    ) -> None:
        self.clock, self.failures = clock, failures
        self.error = (
            error
            if error is not None
            else TimeoutError("Earth Engine: too many concurrent aggregations")
        )
        self.calls: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, site_id: int) -> None:
        with self.lock:
            self.calls.append(self.clock.now())
            attempt = len(self.calls)
        if attempt <= self.failures:
            raise self.error

    def attempts(self) -> int:
        with self.lock:
            return len(self.calls)


def retrying_pool(chapter: Chapter, workers: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    clock = chapter.module.FakeClock()
    return clock, chapter.module.WorkerPool(
        unique("site"), workers=workers, clock=clock, **kwargs
    )


# --8<-- [start:retry-waits-on-the-clock]
@pytest.mark.feature("retries", "clock", "snapshot")
def test_a_failed_attempt_waits_on_the_clock_counted_as_queued_then_runs_again(
    chapter: Chapter,
) -> None:
    clock, pool = retrying_pool(chapter)
    analyse = Flaky(clock, failures=2)
    pool.submit(chapter.module.Retry(attempts=3, base_delay=10, jitter=0)(analyse), 42)
    for attempt, delay in [(1, 10), (2, 20)]:
        on_the_clock = wait_for(lambda: pool.snapshot()["retrying"] == 1, DEADLOCK)
        assert on_the_clock, f"attempt {attempt} was not put on the clock"
        waiting = pool.snapshot()
        assert (
            waiting["queued"],
            waiting["running"],
            waiting["succeeded"],
            waiting["failed"],
        ) == (1, 0, 0, 0), (
            f"a task waiting for its retry should be queued, not running: {waiting}"
        )
        assert consistent(waiting)
        clock.advance(delay - 0.001)
        assert analyse.attempts() == attempt, (
            "the retry ran before its backoff was over"
        )
        clock.advance(0.001)
    assert pool.join(DEADLOCK)
    done = pool.snapshot()
    assert analyse.calls == [0.0, 10.0, 30.0]
    assert (
        done["submitted"],
        done["succeeded"],
        done["failed"],
        done["retried"],
        done["queued"],
    ) == (1, 1, 0, 2, 0)
    chapter.finish(pool)


@pytest.mark.feature("retries", "clock")
def test_a_retry_waiting_for_its_backoff_does_not_hold_a_worker(
    chapter: Chapter,
) -> None:
    clock, pool = retrying_pool(chapter, workers=1)
    analyse = Flaky(clock, failures=1)
    pool.submit(chapter.module.Retry(attempts=2, base_delay=60)(analyse), 42)
    assert wait_for(lambda: analyse.attempts() == 1)
    email_sent = threading.Event()
    pool.submit(email_sent.set)  # the pool's one worker must be free for it
    try:
        assert email_sent.wait(DEADLOCK), (
            "the email waited while the failed analysis slept through its backoff"
        )
    finally:
        clock.advance(60)  # let the retry run, wherever it waits
    assert pool.join(DEADLOCK)
    assert analyse.attempts() == 2
    chapter.finish(pool)
# --8<-- [end:retry-waits-on-the-clock]


@pytest.mark.feature("retries")
def test_backoff_grows_exponentially_up_to_its_cap_and_jitter_only_shortens_it(
    chapter: Chapter,
) -> None:
    Retry = chapter.module.Retry
    plain = Retry(attempts=10, base_delay=2, factor=3, max_delay=100, jitter=0)
    assert [plain.delay(n) for n in range(1, 7)] == [2, 6, 18, 54, 100, 100]
    for r in (0.0, 0.25, 1.0):
        jittered = Retry(
            attempts=10,
            base_delay=2,
            factor=3,
            max_delay=100,
            jitter=0.5,
            rng=lambda r=r: r,
        )
        assert [jittered.delay(n) for n in range(1, 7)] == [
            d * (1 - 0.5 * r) for d in [2, 6, 18, 54, 100, 100]
        ]
    full = Retry(base_delay=8, jitter=1.0, rng=lambda: 1.0)
    # "full jitter": anywhere from the whole delay down to none
    assert full.delay(1) == 0.0


@pytest.mark.feature("retries", "clock", "snapshot")
def test_only_the_exceptions_named_in_retry_on_are_retried(chapter: Chapter) -> None:
    clock, pool = retrying_pool(chapter)
    analyse = Flaky(clock, failures=5, error=ValueError("site polygon is not closed"))
    pool.submit(chapter.module.Retry(attempts=5, retry_on=(TimeoutError,))(analyse), 42)
    assert pool.join(DEADLOCK), "a non-retryable failure was retried"
    s = pool.snapshot()
    assert (analyse.attempts(), s["failed"], s["retried"]) == (1, 1, 0)
    chapter.finish(pool)


@pytest.mark.feature("retries")
@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"attempts": 1.5},
        {"base_delay": -1},
        {"max_delay": float("inf")},
        {"factor": 0.5},
        {"jitter": 1.5},
        {"retry_on": ()},
        {"retry_on": (ValueError, "TimeoutError")},
    ],
    ids=[
        "no-attempts",
        "fractional-attempts",
        "negative-delay",
        "infinite-cap",
        "shrinking",
        "jitter-over-1",
        "retry-on-nothing",
        "retry-on-a-string",
    ],
)
def test_bad_retry_settings_fail_where_the_policy_is_written(
    chapter: Chapter, kwargs: dict[str, Any]
) -> None:
    with pytest.raises((ValueError, TypeError)):
        chapter.module.Retry(**kwargs)


@pytest.mark.feature("retries")
def test_calling_a_wrapped_task_directly_calls_it_once_and_keeps_its_name(
    chapter: Chapter,
) -> None:
    calls: list[int] = []

    def analyse_site(site_id: int) -> None:
        calls.append(site_id)
        raise TimeoutError("quota")

    wrapped = chapter.module.Retry(attempts=5)(analyse_site)
    with pytest.raises(TimeoutError):
        wrapped(7)
    assert calls == [7], (
        "the policy retried a direct call: retrying is the pool's business"
    )
    assert wrapped.__name__ == "analyse_site" and wrapped.policy.attempts == 5


# -- dead_letters ----------------------------------------------------------


@pytest.mark.feature("dead_letters", "retries", "clock", "snapshot")
def test_a_task_that_fails_for_the_last_time_is_a_dead_letter_without_its_arguments(
    chapter: Chapter,
) -> None:
    clock, pool = retrying_pool(chapter)
    secret = "user-4242@example.com"

    def send_reset_email(address: str) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    pool.submit(
        chapter.module.Retry(attempts=2, base_delay=5, jitter=0)(send_reset_email),
        secret,
    )
    assert wait_for(lambda: pool.snapshot()["retrying"] == 1)
    clock.advance(5)
    assert pool.join(DEADLOCK)
    s = pool.snapshot()
    (letter,) = s["dead_letters"]
    assert letter["task"].endswith("send_reset_email") and letter["attempts"] == 2
    assert (letter["error_type"], letter["message"]) == (
        "ConnectionRefusedError",
        "[Errno 111] Connection refused",
    )
    assert isinstance(letter["failed_at"], str)
    assert (s["failed"], s["retried"]) == (1, 1)
    assert secret not in json.dumps(s), "the dead letter carries the task's arguments"
    chapter.finish(pool)


@pytest.mark.feature("dead_letters", "clock", "snapshot")
@pytest.mark.parametrize("ring", [0, 3])
def test_the_dead_letter_ring_keeps_only_the_newest_but_counts_every_failure(
    chapter: Chapter, ring: int
) -> None:
    _, pool = retrying_pool(chapter, dead_letters=ring)

    def fail(n: int) -> None:
        raise RuntimeError(f"analysis {n} failed")

    for n in range(5):
        pool.submit(fail, n)
    assert pool.join(DEADLOCK)
    s = pool.snapshot()
    assert [letter["message"] for letter in s["dead_letters"]] == [
        f"analysis {n} failed" for n in range(5)
    ][5 - ring :]
    assert s["failed"] == 5
    chapter.finish(pool)


# -- shutdown --------------------------------------------------------------

task_kinds = st.sampled_from(["ok", "raise", "hang"])


# --8<-- [start:shutdown-accounts]
def check_shutdown_accounts_for_everything(
    chapter: Chapter, workload: list[str], workers: int
) -> None:
    """Queue a workload (some tasks never return), shut down with a short deadline,
    account for every task."""
    pool = chapter.pool(workers=workers, name=unique("drain"))
    hung = Gate()
    run = {"ok": lambda: None, "raise": boom, "hang": hung.task}
    try:
        for kind in workload:
            pool.submit(run[kind])
        report = pool.shutdown(timeout=0.05)
        after = pool.snapshot()
        outstanding = report.queued + report.running
        accounted = report.finished + len(report.dropped) + len(report.still_running)
        assert accounted == outstanding, (
            f"{report} accounts for {accounted} of {outstanding} tasks"
        )
        assert after["dropped"] == len(report.dropped), (
            "the pool's dropped counter disagrees with the report"
        )
        assert consistent(after), f"inconsistent snapshot after shutdown: {after}"
        assert after["submitted"] == len(workload)
        with pytest.raises(chapter.module.PoolClosedError):
            pool.submit(lambda: None)
        assert not pool.shutdown(timeout=0.05).dropped, (
            "a second shutdown dropped tasks the first accounted for"
        )
    finally:
        hung.open()
# --8<-- [end:shutdown-accounts]


@pytest.mark.feature("shutdown", "snapshot")
@pytest.mark.parametrize(
    ("workload", "workers"),
    [
        ([], 1),
        (["ok"] * 5, 2),
        (["hang", "ok", "ok", "raise"], 1),
        (["hang", "hang", "ok", "raise", "ok"], 2),
    ],
    ids=["idle", "all-finish", "one-hangs-three-queued", "both-hang"],
)
def test_a_shutdown_accounts_for_every_outstanding_task(
    chapter: Chapter, workload: list[str], workers: int
) -> None:
    check_shutdown_accounts_for_everything(chapter, workload, workers)


@pytest.mark.feature("shutdown", "snapshot")
@given(
    workload=st.lists(task_kinds, max_size=12),
    workers=st.integers(min_value=1, max_value=3),
)
@settings(max_examples=5)
def test_for_any_workload_a_shutdown_accounts_for_every_task(
    chapter: Chapter, workload: list[str], workers: int
) -> None:
    check_shutdown_accounts_for_everything(chapter, workload, workers)


@pytest.mark.feature("shutdown")
def test_a_shutdown_is_bounded_and_names_what_it_dropped_and_what_still_runs(
    chapter: Chapter,
) -> None:
    pool = chapter.pool(workers=1, name=unique("drain"))
    analysis = Gate()
    try:
        pool.submit(analysis.task)
        assert analysis.wait_until_entered(1)
        for _ in range(3):
            pool.submit(boom)
        started = time.monotonic()
        report = pool.shutdown(timeout=0.1)
        assert time.monotonic() - started < DEADLOCK, (
            "the shutdown waited for a task that never returns"
        )
    finally:
        analysis.open()
    assert (report.queued, report.running, report.finished) == (3, 1, 0)
    assert report.dropped == ("tests.chapters.support.boom",) * 3
    assert report.still_running == ("tests.chapters.support.Gate.task",)
    assert not report.complete
    assert json.loads(json.dumps(report.as_dict()))["dropped"] == list(report.dropped)


@pytest.mark.feature("shutdown", "task_system", "debouncer", "clock")
def test_a_system_shutdown_flushes_its_debouncers_drains_every_pool_and_refuses_work(
    chapter: Chapter,
) -> None:
    tasks = chapter.module.TaskSystem(
        general=1, site=1, clock=chapter.module.FakeClock()
    )
    indexed: list[list[int]] = []
    index = tasks.debouncer("search-index", indexed.append, wait=3600)
    index.trigger(1)
    index.trigger(2)
    analysis = Gate()
    try:
        tasks.submit("site", analysis.task)
        assert analysis.wait_until_entered(1)
        report = tasks.shutdown(timeout=0.05)
    finally:
        analysis.open()
    assert indexed == [[1, 2]], (
        "the pending index batch was not run before the pools were drained"
    )
    assert (
        sorted(report.pools) == ["general", "site"] and report.pools["general"].complete
    )
    assert report.pools["site"].still_running == ("tests.chapters.support.Gate.task",)
    with pytest.raises(chapter.module.PoolClosedError):
        tasks.submit("general", print)
    with pytest.raises(chapter.module.PoolClosedError):
        index.trigger(3)


@pytest.mark.feature("shutdown", "retries", "clock")
def test_a_task_waiting_for_its_retry_is_dropped_by_name_at_shutdown(
    chapter: Chapter,
) -> None:
    clock, pool = retrying_pool(chapter)
    analyse = Flaky(clock, failures=5)
    pool.submit(chapter.module.Retry(attempts=5, base_delay=60)(analyse), 42)
    assert wait_for(lambda: pool.snapshot()["retrying"] == 1)
    report = pool.shutdown(timeout=0.05)
    assert (report.queued, report.running, len(report.dropped)) == (1, 0, 1)
    assert report.dropped[0].endswith("Flaky")
    clock.advance(3600)
    assert analyse.attempts() == 1, "a retry ran after its pool was shut down"
    s = pool.snapshot()
    assert (s["dropped"], s["retrying"], s["queued"]) == (1, 0, 0) and consistent(s)


# -- fork ------------------------------------------------------------------


# --8<-- [start:fork-check]
def child_exit_status_after_fork(chapter: Chapter, deadline: float = 20) -> int:
    """Fork while a system has history, a running task, a backlog and a pending
    debounce; the child's verdict.

    The child must find empty pools and debouncers of its own, run new work, and
    exit 0 within the deadline (codes 3 to 5 say which part failed; -9, that it hung
    and was killed). The parent's system must keep working.
    """
    tasks = chapter.module.TaskSystem(general=2, site=1)
    analysis = Gate()
    for _ in range(5):
        tasks.submit("general", lambda: None)
    assert tasks.join(DEADLOCK)
    tasks.submit("site", analysis.task)  # the one site worker is busy while we fork...
    assert analysis.wait_until_entered(1)
    for _ in range(3):
        # ...with a backlog that belongs to the parent
        tasks.submit("site", lambda: None)
    index = tasks.debouncer("search-index", lambda batch: None, wait=3600)
    index.trigger("doc-1")
    pid = os.fork()
    if pid == 0:  # the child: no pytest from here on, only an exit status
        status = 1
        try:
            fresh = tasks.snapshot()
            pools = fresh["pools"].values()
            status = (
                3
                if any(p["submitted"] or p["queued"] or p["running"] for p in pools)
                else 0
            )
            status = status or (
                4 if fresh["debouncers"]["search-index"]["pending"] else 0
            )
            ran: list[str] = []
            tasks.submit("general", ran.append, "email")
            tasks.submit("site", ran.append, "analysis")
            status = status or (
                0
                if tasks.join(timeout=5) and sorted(ran) == ["analysis", "email"]
                else 5
            )
        finally:
            os._exit(status)
    try:
        return wait_for_child(pid, deadline)
    finally:
        analysis.open()
        assert tasks.join(DEADLOCK), (
            "the parent's system stopped working after the fork"
        )
        assert tasks.snapshot()["pools"]["site"]["succeeded"] == 4
        chapter.finish(tasks)
# --8<-- [end:fork-check]


def wait_for_child(pid: int, deadline: float) -> int:
    give_up = time.monotonic() + deadline
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > give_up:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return -9
        time.sleep(0.005)


@pytest.mark.feature("fork", "task_system", "debouncer")
# 3.12+ warns when a process with threads forks
@pytest.mark.filterwarnings(FORK_WITH_THREADS)
def test_a_forked_child_gets_fresh_working_pools_and_debouncers(
    chapter: Chapter,
) -> None:
    assert child_exit_status_after_fork(chapter) == 0


# -- exit_drain ------------------------------------------------------------

# --8<-- [start:exit-script]
EXIT_SCRIPT = """
import importlib, sys, threading, time
core = importlib.import_module(sys.argv[1])
exit_timeout = {{"exit_timeout": float(sys.argv[3])}} if sys.argv[3] != "none" else {{}}
tasks = core.TaskSystem(general=2, site=2, **exit_timeout)
out = open(sys.argv[2], "a")

def send_email(n):
    time.sleep({seconds})
    out.write(f"{{n}}\\n")
    out.flush()

{extra}
for n in range(20):
    tasks.submit("general", send_email, n)
# the end of the script: a deploy stops the process here
"""
# --8<-- [end:exit-script]


def run_until_exit(
    module: str,
    tmp_path: Path,
    *,
    seconds: float = 0.02,
    exit_timeout: float | None = 30.0,
    extra: str = "",
) -> tuple[subprocess.CompletedProcess[str], int, float]:
    """Run EXIT_SCRIPT against ``module``; return the process, how many of the 20 emails
    were sent, and how long."""
    out = tmp_path / f"sent-{unique()}.txt"
    out.touch()
    script = EXIT_SCRIPT.format(seconds=seconds, extra=extra)
    started = time.monotonic()
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            module,
            str(out),
            "none" if exit_timeout is None else str(exit_timeout),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    return process, len(out.read_text().split()), time.monotonic() - started


# --8<-- [start:exit-drain]
@pytest.mark.feature("exit_drain")
def test_at_exit_the_queue_drains_and_a_task_that_never_returns_cannot_hold_the_process(
    chapter: Chapter, tmp_path: Path
) -> None:
    never_returns = "tasks.submit('site', threading.Event().wait)"
    process, sent, took = run_until_exit(
        chapter.module.__name__,
        tmp_path,
        seconds=0.005,
        exit_timeout=0.3,
        extra=never_returns,
    )
    assert process.returncode == 0, process.stderr
    assert sent == 20, (
        f"only {sent} of 20 queued emails were sent before the process exited"
    )
    assert took < 30, (
        "the exit waited far beyond exit_timeout for a task that never returns"
    )
    assert "still running ['threading.Event.wait']" in process.stderr, process.stderr
# --8<-- [end:exit-drain]


# -- the suite can fail ----------------------------------------------------


@pytest.mark.parametrize(
    "unlocked",
    [UnlockedStatsPool, NaiveStatsPool],
    ids=["reference-unlocked", "ch06-naive"],
)
def test_the_suite_catches_counting_without_the_mutex(unlocked: type) -> None:
    chapter = broken_chapter("unlocked", {"stats", "snapshot"}, WorkerPool=unlocked)
    with pytest.raises(AssertionError, match="a count was lost"):
        test_no_preemption_of_a_finishing_worker_loses_a_count_or_tears_a_snapshot(
            chapter
        )


def reference_with(**exports: object) -> Chapter:
    """The reference core with some of its names replaced by broken variants."""
    names = {name: getattr(dualqueue, name) for name in dualqueue.__all__}
    return broken_chapter(
        "broken", set(FEATURE_VOCABULARY - {"priority"}), **{**names, **exports}
    )


def test_the_suite_catches_a_debounce_window_that_does_not_restart() -> None:
    throttle = reference_with(Debouncer=FixedWindowDebouncer)
    with pytest.raises(AssertionError, match="triggers at"):
        check_runs_are_the_bursts(throttle, [0, 5, 5, 5], 15)


def test_the_suite_catches_a_debouncer_that_drops_triggers_during_a_run() -> None:
    forgetful = reference_with(Debouncer=ForgetfulDebouncer)
    with pytest.raises(AssertionError, match="not pending for a follow-up"):
        check_single_flight(forgetful, 2, 7)


def test_the_suite_catches_a_retry_that_sleeps_on_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock_of: dict[str, Any] = {}
    pools: list[dualqueue.WorkerPool] = []

    # the chapter's InPlaceRetry, sleeping on the clock of the pool under test
    class InPlace:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

        def __call__(self, fn: Callable[..., Any]) -> Any:
            return InPlaceRetry(**self.kwargs, clock=clock_of["pool"])(fn)

    def pool_remembering_its_clock(
        name: str, workers: int, clock: Any, **kwargs: Any
    ) -> Any:
        clock_of["pool"] = clock
        pools.append(
            pool := dualqueue.WorkerPool(name, workers=workers, clock=clock, **kwargs)
        )
        return pool

    def wake_every_sleeper() -> None:  # so that no worker is left blocked in a backoff
        for pool in pools:
            while not pool.join(timeout=0.01):
                pool.clock.advance(100)

    sleeper = reference_with(Retry=InPlace, WorkerPool=pool_remembering_its_clock)
    monkeypatch.setattr(sys.modules[__name__], "DEADLOCK", IMPOSSIBLE)
    try:
        with pytest.raises(AssertionError, match="slept through its backoff"):
            test_a_retry_waiting_for_its_backoff_does_not_hold_a_worker(sleeper)
        with pytest.raises(AssertionError, match="was not put on the clock"):
            test_a_failed_attempt_waits_on_the_clock_counted_as_queued_then_runs_again(
                sleeper
            )
    finally:
        wake_every_sleeper()


def test_the_suite_catches_a_dead_letter_ring_that_ignores_its_bound() -> None:
    unbounded = reference_with(WorkerPool=UnboundedDeadLetterPool)
    with pytest.raises(AssertionError, match="analysis 0 failed"):
        test_the_dead_letter_ring_keeps_only_the_newest_but_counts_every_failure(
            unbounded, ring=3
        )


def test_the_suite_catches_a_shutdown_that_forgets_the_queue() -> None:
    forgetful = reference_with(WorkerPool=ForgetfulShutdownPool)
    with pytest.raises(AssertionError, match="accounts for"):
        check_shutdown_accounts_for_everything(
            forgetful, ["hang", "ok", "ok", "raise"], 1
        )


@pytest.mark.filterwarnings(FORK_WITH_THREADS)
@pytest.mark.parametrize("subject", ["reference-no-fork-reset", "chapter-8"])
def test_the_suite_catches_pools_that_are_not_reset_in_a_forked_child(
    subject: str,
) -> None:
    if subject == "chapter-8":
        unprepared = next(c for c in CHAPTERS if c.name == "ch08_failures_and_retries")
    else:

        class NoForkResetSystem(dualqueue.TaskSystem):
            def __init__(self, **pools: int) -> None:
                super().__init__(
                    **{
                        name: NoForkResetPool(name, workers=n)
                        for name, n in pools.items()
                    }
                )

        unprepared = reference_with(TaskSystem=NoForkResetSystem)
    assert child_exit_status_after_fork(unprepared, deadline=5) != 0


def test_the_suite_catches_daemon_workers_with_no_exit_drain(tmp_path: Path) -> None:
    # Chapter 8 is the seed's design: daemon workers and nothing at exit. 20 emails of
    # 0.05 s on two workers are half a second of work; the process is gone long before
    # that.
    process, sent, _ = run_until_exit(
        "chapters.ch08_failures_and_retries", tmp_path, seconds=0.05, exit_timeout=None
    )
    assert process.returncode == 0 and process.stdout == process.stderr == "", (
        "the loss was not silent"
    )
    assert sent < 20


def test_the_early_suite_catches_a_worker_loop_that_catches_only_exception(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Chapter 8's first attempt: `except Exception` lets SystemExit end the worker
    # thread, in silence.
    # imported here, so that its tests are not collected twice
    from . import test_behaviour_early as early

    narrow = broken_chapter(
        "except-exception",
        {"worker", "survives_errors", "pool"},
        WorkerPool=ExceptionOnlyPool,
    )
    monkeypatch.setattr(early, "DEADLOCK", IMPOSSIBLE)
    with thread_deaths() as deaths, pytest.raises(AssertionError, match="never ran"):
        early.test_a_worker_survives_a_raising_task_and_logs_it(
            narrow, SystemExit(3), caplog
        )
    assert [type(death) for death in deaths] == [SystemExit]
