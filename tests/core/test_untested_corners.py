"""Corners no test checked: each one a mutant of the core that survived the whole suite.

The mutation run (``make mutation``) found them: changing the line named in
each test's comment left every other test passing. Each test here fails
against that mutant.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from dualqueue import Debouncer, FakeClock, ShutdownReport, SystemClock, WorkerPool
from dualqueue.pool import drain

from .interleave import consistent
from .support import DEADLOCK, Gate, boom, wait_for
from .test_shutdown import wait_for_child


@contextmanager
def forking_with_threads() -> Iterator[None]:
    """Fork on purpose while threads run, and expect Python 3.12+'s warning about it.

    From 3.12, ``os.fork()`` in a process with more than one thread emits a
    ``DeprecationWarning``: in general the child inherits locks held by
    threads that do not exist in it. dualqueue's at-fork handlers rebuild
    every lock, pool, clock and debouncer in the child, and these tests are
    what proves it; so here the warning is expected and checked for, not
    silenced. (On 3.11 nothing is emitted.)
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        yield
    forks = [w for w in caught if "fork" in str(w.message)]
    if sys.version_info >= (3, 12) and threading.active_count() > 1:
        assert forks, "Python 3.12+ should warn about fork() with threads running"
    unrelated = [w for w in caught if w not in forks]
    assert not unrelated, [str(w.message) for w in unrelated]


def test_the_system_clock_waits_out_a_delay_scheduled_after_an_idle_spell() -> None:
    # Mutant: the clock loop's `continue` after an idle wait turned into `break`.
    clock = SystemClock()
    first = threading.Event()
    clock.call_later(0, first.set)
    assert first.wait(DEADLOCK)
    time.sleep(0.05)  # the clock's thread is idle: nothing is scheduled
    scheduled = time.monotonic()
    fired: list[float] = []
    done = threading.Event()
    clock.call_later(0.2, lambda: (fired.append(time.monotonic()), done.set()))
    assert done.wait(DEADLOCK), "the clock's thread died after an idle spell"
    assert fired[0] - scheduled >= 0.2, "a delayed call ran early"


def test_a_forked_child_with_a_live_system_clock_gets_a_working_clock_of_its_own() -> None:
    clock = SystemClock()
    ready = threading.Event()
    clock.call_later(0, ready.set)
    assert ready.wait(DEADLOCK)  # the parent's clock thread is running
    with forking_with_threads():
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                fired = threading.Event()
                clock.call_later(0.01, fired.set)
                code = 0 if fired.wait(5) else 2
            finally:
                os._exit(code)
    assert wait_for_child(pid, deadline=20.0) == 0, "the child's clock never ran a call"
    again = threading.Event()
    clock.call_later(0, again.set)
    assert again.wait(DEADLOCK), "the parent's clock stopped after the fork"


def test_shutdown_zero_drops_the_queue_at_once_and_none_waits_for_everything() -> None:
    pool = WorkerPool("zero", workers=1)
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    pool.submit(lambda: None)
    pool.submit(lambda: None)
    report = pool.shutdown(0)
    assert len(report.dropped) == 2 and len(report.still_running) == 1 and report.finished == 0
    gate.open()

    patient = WorkerPool("none", workers=1)
    slow = Gate()
    patient.submit(slow.task)
    for _ in range(3):
        patient.submit(lambda: None)
    threading.Timer(0.1, slow.open).start()
    report = patient.shutdown(None)
    assert report.complete and report.finished == 4 and report.queued + report.running == 4


def test_counters_accumulate_across_two_cancels_and_two_refused_runs() -> None:
    # Mutant: `dropped +=` turned into `dropped =` in the debouncer.
    clock = FakeClock()
    debouncer = Debouncer(lambda batch: None, wait=1.0, clock=clock)
    for item in ("a", "b"):
        debouncer.trigger(item)
    assert debouncer.cancel() == 2
    debouncer.trigger("c")
    assert debouncer.cancel() == 1
    assert debouncer.snapshot()["dropped"] == 3
    pool = WorkerPool("closed", workers=1, clock=clock)
    pool.shutdown(0)
    refused = Debouncer(lambda batch: None, wait=1.0, pool=pool)
    for batch in (["a", "b"], ["c"]):
        for item in batch:
            refused.trigger(item)
        refused.flush()
    assert refused.snapshot()["dropped"] == 3


def test_the_pools_dropped_counter_adds_up_over_two_drains() -> None:
    # Mutant: `dropped +=` turned into `dropped =` in the pool. A pool accepts
    # no task after its first drain, so the second drain only re-checks.
    pool = WorkerPool("twice", workers=1)
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    for _ in range(3):
        pool.submit(lambda: None)
    assert len(pool.shutdown(0).dropped) == 3
    assert pool.shutdown(0).dropped == ()
    gate.open()
    assert pool.snapshot()["dropped"] == 3


def test_error_rate_is_failures_over_finished_tasks() -> None:
    pool = WorkerPool("rate", workers=1)
    assert pool.snapshot()["error_rate"] == 0.0
    for task in (boom, lambda: None, lambda: None, lambda: None):
        pool.submit(task)
    assert pool.join(DEADLOCK)
    assert pool.snapshot()["error_rate"] == 0.25
    pool.shutdown(DEADLOCK)


def test_a_shutdown_report_as_a_dict_has_every_field() -> None:
    inner = ShutdownReport(queued=3, running=1, finished=2, dropped=("a",), still_running=("b",), elapsed=0.12345)
    outer = ShutdownReport.combine({"general": inner}, elapsed=1.0004)
    assert outer.as_dict() == {
        "scheduled": 0,
        "queued": 3,
        "running": 1,
        "finished": 2,
        "dropped": ["a"],
        "still_running": ["b"],
        "elapsed": 1.0,
        "pools": {
            "general": {
                "scheduled": 0,
                "queued": 3,
                "running": 1,
                "finished": 2,
                "dropped": ["a"],
                "still_running": ["b"],
                "elapsed": 0.123,
                "pools": {},
            }
        },
    }
    assert not outer.complete and ShutdownReport(0, 0, 0, (), (), 0.0).complete


def test_the_snapshot_says_whether_the_pool_has_started() -> None:
    pool = WorkerPool("lazy", workers=1)
    assert pool.snapshot()["started"] is False
    pool.submit(lambda: None)
    assert pool.snapshot()["started"] is True
    pool.shutdown(DEADLOCK)


def test_a_debouncer_given_a_pool_uses_the_pools_clock() -> None:
    clock = FakeClock()
    pool = WorkerPool("timed", workers=1, clock=clock)
    runs: list[list[str]] = []
    debouncer = Debouncer(runs.append, wait=5.0, pool=pool)
    assert debouncer.clock is clock
    debouncer.trigger("doc")
    clock.advance(5.0)  # only the pool's fake clock can fire the run
    assert pool.join(DEADLOCK) and runs == [["doc"]]
    pool.shutdown(DEADLOCK)


def test_a_drain_of_same_named_pools_keeps_a_report_for_each() -> None:
    pools = [WorkerPool("general", workers=1) for _ in range(3)]
    report = drain(pools, DEADLOCK)
    assert list(report.pools) == ["general", "general#2", "general#3"]


def test_a_worker_that_never_exits_cannot_make_shutdown_wait_forever() -> None:
    # The worker's task is counted, then its log handler blocks for good.
    release, entered = threading.Event(), threading.Event()

    class Forever(logging.Handler):
        def handle(self, record: logging.LogRecord) -> bool:
            entered.set()
            release.wait()
            return True

        def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() does not call it
            pass

    handler = Forever()
    logging.getLogger("dualqueue").addHandler(handler)
    try:
        pool = WorkerPool("stuck-after", workers=1)
        pool.submit(boom)
        assert entered.wait(DEADLOCK)
        reports: list[ShutdownReport] = []
        shutting = threading.Thread(target=lambda: reports.append(pool.shutdown(None)))
        shutting.start()
        shutting.join(DEADLOCK)
        assert reports and reports[0].complete, "shutdown(None) waited for a worker that never exits"
    finally:
        release.set()
        logging.getLogger("dualqueue").removeHandler(handler)


def test_snapshots_stay_consistent_while_a_debouncer_runs_in_its_pool() -> None:
    pool = WorkerPool("busy", workers=2)
    clock = FakeClock()
    debouncer = Debouncer(lambda batch: None, wait=1.0, pool=pool, clock=clock)
    seen: list[dict[str, Any]] = []
    for i in range(50):
        debouncer.trigger(i)
        clock.advance(1.0)
        seen.append(pool.snapshot())
    assert pool.join(DEADLOCK)
    assert all(consistent(s) for s in seen)
    assert wait_for(lambda: debouncer.snapshot()["delivered"] == 50)
    pool.shutdown(DEADLOCK)


@pytest.mark.parametrize("value", [0, 0.5])
def test_zero_and_fractional_timeouts_are_accepted(value: float) -> None:
    pool = WorkerPool("fine", workers=1)
    assert pool.join(value)
    assert pool.shutdown(value).complete
