"""What the clock and the counters promise that no other test checked: found by mutation testing.

``make mutation`` left these lines of ``dualqueue/clock.py``, ``stats.py`` and
``recent.py`` changeable with every test still passing: the clock's one daemon
thread, what it logs when a callback raises (and that a failing log filter
cannot stop it), the count of calls still waiting once cancelled ones are
purged, a forked child's clock; and in the status picture, the times shown
(when a pool last took and finished a task, when its last error happened), the
error rate's precision, the message bound's edge, the fallback name of an
exception type, and a recent task's times.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref

import pytest
from dualqueue import FakeClock, SystemClock, WorkerPool
from dualqueue import clock as clock_module
from dualqueue.recent import RecentTasks
from dualqueue.stats import MESSAGE_LIMIT, ErrorRecord

from .support import DEADLOCK, wait_for

LOGGER = "dualqueue"
WALL = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def _raise(exc: BaseException) -> None:
    raise exc


def noop() -> None:
    pass


# -- the clock -----------------------------------------------------------------


def test_one_daemon_thread_runs_every_callback_of_a_clock_even_after_an_idle_spell() -> None:
    clock = SystemClock()
    threads: list[threading.Thread] = []
    first, second = threading.Event(), threading.Event()
    clock.call_later(0, lambda: (threads.append(threading.current_thread()), first.set()))
    assert first.wait(DEADLOCK)
    time.sleep(0.05)  # not needed to pass: lets the clock's thread reach its idle wait
    clock.call_later(0, lambda: (threads.append(threading.current_thread()), second.set()))
    assert second.wait(DEADLOCK), "a call scheduled after an idle spell never ran"
    assert threads[0] is threads[1], "the clock's thread ended while the clock was alive"
    # A daemon, so it never holds the interpreter open; named for thread dumps.
    assert threads[0].daemon and threads[0].name == "dualqueue-clock"


class Exploding(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        raise RuntimeError("a log filter that fails")


def test_a_callback_that_raises_is_logged_and_even_a_failing_log_filter_cannot_stop_the_clock(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    failure = ValueError("bad callback")
    ran: list[float] = []
    clock.call_later(1, lambda: _raise(failure))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        clock.advance(1)
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "dualqueue: a scheduled callback raised; the clock goes on"
    assert record.exc_info is not None and record.exc_info[1] is failure
    # A log filter is user code too: it fails while the failure is being logged.
    logger = logging.getLogger(LOGGER)
    exploding = Exploding()
    logger.addFilter(exploding)
    try:
        clock.call_later(1, lambda: _raise(failure))
        clock.call_later(2, lambda: ran.append(clock.now()))
        clock.advance(2)  # raised out of advance() before
    finally:
        logger.removeFilter(exploding)
    assert ran == [3.0]


def test_the_count_of_waiting_calls_stays_right_once_cancelled_ones_are_purged() -> None:
    clock = FakeClock()
    runs: list[float] = []
    handles = [clock.call_later(i + 1, lambda: runs.append(clock.now())) for i in range(100)]
    first = handles[0]
    assert first.cancelled is False
    first.cancel()
    first.cancel()  # harmless twice
    assert first.cancelled is True and clock.scheduled == 99
    assert clock.next_due() == 2.0  # the cancelled call is skipped, and purged
    assert clock.scheduled == 99
    for handle in handles[1:70]:  # enough to make the clock rebuild its schedule
        handle.cancel()
    assert clock.scheduled == 30 and clock.next_due() == 71.0
    clock.advance(1000)
    assert runs == [float(t) for t in range(71, 101)]
    assert clock.scheduled == 0
    handles[-1].cancel()  # harmless once it ran
    assert clock.scheduled == 0 and clock.next_due() is None


def test_a_forked_childs_system_clock_runs_calls_on_a_thread_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SystemClock()
    threads: list[threading.Thread] = []
    first, second = threading.Event(), threading.Event()
    clock.call_later(0, lambda: (threads.append(threading.current_thread()), first.set()))
    assert first.wait(DEADLOCK)
    parents = clock.call_later(3600, noop)  # the parent's schedule
    monkeypatch.setattr(clock_module, "_live_clocks", weakref.WeakSet([clock]))
    monkeypatch.setattr(clock_module, "_registry_lock", clock_module._registry_lock)  # restored afterwards
    clock_module._reset_clocks_in_child()  # what os.fork() runs in the child
    clock.call_later(0, lambda: (threads.append(threading.current_thread()), second.set()))
    assert second.wait(DEADLOCK), "the child's clock never ran a call"
    assert threads[1] is not threads[0]  # the parent's thread does not exist in a child
    assert isinstance(SystemClock(), SystemClock)  # the registry's lock works in the child
    parents.cancel()  # harmless: it belongs to the forgotten schedule
    # Not the test: the parent's thread here ends with the clock, as any clock's does.
    del clock
    wait_for(lambda: not threads[0].is_alive())


# -- the counters and times in the status picture ---------------------------------


def test_the_snapshot_shows_when_a_pool_last_took_and_finished_a_task_and_when_it_failed() -> None:
    clock = FakeClock(wall_start=WALL)
    pool = WorkerPool("times", workers=1, clock=clock)
    snap = pool.snapshot()
    assert (snap["last_submitted_at"], snap["last_finished_at"], snap["last_error"]) == (None, None, None)

    def fail_two_seconds_later() -> None:
        clock.advance(2)
        raise ValueError("late")

    clock.advance(1)
    pool.submit(fail_two_seconds_later)  # at 1 s
    assert pool.join(DEADLOCK)  # it failed at 3 s
    clock.advance(7)  # the snapshot is taken at 10 s
    snap = pool.snapshot()
    assert snap["last_submitted_at"] == "2023-11-14T22:13:21.000+00:00"
    assert snap["last_finished_at"] == "2023-11-14T22:13:23.000+00:00"
    assert snap["last_error"] == {"type": "ValueError", "message": "late", "at": "2023-11-14T22:13:23.000+00:00"}
    # One failure in three finished tasks, to four decimal places.
    pool.submit(noop)
    pool.submit(noop)
    assert pool.join(DEADLOCK)
    assert pool.snapshot()["error_rate"] == 0.3333
    pool.shutdown(DEADLOCK)


def test_an_error_record_keeps_its_time_and_a_message_at_the_limit_whole() -> None:
    assert ErrorRecord.of(ValueError("x"), 5.0).at == 5.0
    exact = "x" * MESSAGE_LIMIT
    assert ErrorRecord.of(ValueError(exact), 0.0).message == exact
    over = ErrorRecord.of(ValueError(exact + "y"), 0.0).message
    assert over == "x" * (MESSAGE_LIMIT - 1) + "…" and len(over) == MESSAGE_LIMIT


def test_an_exception_type_whose_names_are_not_text_gets_a_fixed_name() -> None:
    odd = type("Odd", (Exception,), {})
    odd.__module__ = 42  # type: ignore[assignment]
    record = ErrorRecord.of(odd("text"), 0.0)
    assert (record.error_type, record.message) == ("<unknown exception type>", "text")


def test_a_recent_task_shows_its_times_to_the_microsecond_and_when_it_finished() -> None:
    recent = RecentTasks(limit=2)
    recent.record(noop, enqueued_at=0.0, started=1 / 3, finished=1.0, finished_wall=WALL + 0.5)
    assert recent.snapshot() == [
        {
            "task": f"{__name__}.noop",
            "wait_seconds": 0.333333,
            "run_seconds": 0.666667,
            "outcome": "succeeded",
            "error_type": None,
            "finished_at": "2023-11-14T22:13:20.500+00:00",
        }
    ]


def test_a_pools_snapshot_keeps_its_last_20_finished_tasks() -> None:
    # The documented size of the ring (docs/guides/django.md: "last 20 finished tasks").
    pool = WorkerPool("ring", workers=1, clock=FakeClock())
    for _ in range(21):
        pool.submit(noop)
    assert pool.join(DEADLOCK)
    assert len(pool.snapshot()["recent"]) == 20
    pool.shutdown(DEADLOCK)
