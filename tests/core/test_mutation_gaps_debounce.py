"""What the debouncer promises that no other test checked: found by mutation testing.

``make mutation`` left these lines of ``dualqueue/debounce.py`` changeable with
every test still passing. Each test below states the behaviour the line is
for, as a user or an operator sees it: what the snapshot says, what the log
says and at which level, which state the guard is in. None of them waits in
real time for a window: the clock is a ``FakeClock``.
"""

from __future__ import annotations

import logging
import threading

import pytest
from dualqueue import Debouncer, FakeClock, WorkerPool
from dualqueue.debounce import State
from dualqueue.errors import PoolClosedError
from dualqueue.pool import default_clock

from .support import DEADLOCK, Blocking, Gate, wait_for

LOGGER = "dualqueue"


def records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and text in r.getMessage()]


def test_the_constructor_names_what_was_wrong() -> None:
    with pytest.raises(TypeError, match="Debouncer needs a callable, got int"):
        Debouncer(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"max_wait must be >= wait \(5.0\), got 2"):
        Debouncer(print, wait=5, max_wait=2)
    with pytest.raises(TypeError, match="pool must be a WorkerPool or None, got str"):
        Debouncer(print, pool="general")  # type: ignore[arg-type]
    for name in ("", 7):
        with pytest.raises(ValueError, match="name must be a non-empty string"):
            Debouncer(print, name=name)  # type: ignore[arg-type]
    # max_wait equal to wait is allowed: every run is then at most `wait` late.
    assert Debouncer(print, wait=5, max_wait=5, clock=FakeClock()).max_wait == 5.0


def test_the_defaults_are_the_documented_ones() -> None:
    clock = FakeClock()
    pool = WorkerPool("defaults", workers=1, clock=clock)
    debouncer = Debouncer(print, pool=pool)
    assert (debouncer.wait, debouncer.max_wait, debouncer.clock) == (15.0, None, clock)
    assert debouncer.name == "builtins.print"  # named after its function
    assert repr(debouncer) == f"<Debouncer {debouncer.name} wait=15.0 max_wait=None>"
    pool.shutdown(0)
    # Neither a pool nor a clock: the process-wide system clock.
    assert Debouncer(print).clock is default_clock()


def test_a_closed_debouncer_refuses_a_trigger_by_name() -> None:
    debouncer = Debouncer(print, wait=1, clock=FakeClock(), name="index")
    debouncer.close()
    with pytest.raises(PoolClosedError, match="debouncer index is closed; trigger refused"):
        debouncer.trigger("late")
    assert debouncer.snapshot()["closed"] is True and debouncer.triggers == 0


def test_cancel_during_a_run_keeps_the_guard_until_the_run_ends() -> None:
    # Single flight: cancelling the follow-up does not end the run in flight.
    clock = FakeClock()
    seen: list[tuple[State, bool, int]] = []

    def run(batch: list[str]) -> None:
        if batch == ["first"]:
            debouncer.trigger("during")
            dropped = debouncer.cancel()
            seen.append((debouncer.state, debouncer.running, dropped))

    debouncer = Debouncer(run, wait=1, clock=clock)
    debouncer.trigger("first")
    clock.advance(1)
    assert seen == [(State.RUNNING, True, 1)]
    assert debouncer.state is State.IDLE and not debouncer.running
    clock.advance(10)
    snap = debouncer.snapshot()
    assert (snap["runs"], snap["delivered"], snap["dropped"]) == (1, 1, 1)


def test_cancel_tells_the_operator_how_many_items_it_dropped(caplog) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    debouncer = Debouncer(print, wait=1, clock=FakeClock(), name="index")
    assert debouncer.cancel() == 0
    assert not records(caplog, "cancelled")  # nothing dropped, nothing to say
    debouncer.trigger("a")
    debouncer.trigger("b")
    assert debouncer.cancel() == 2
    assert debouncer.state is State.IDLE and not debouncer.running
    (record,) = records(caplog, "cancelled")
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "dualqueue: debouncer index cancelled with 2 item(s) dropped"


def test_a_refused_run_is_logged_as_an_error_naming_the_items_and_the_reason(caplog) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    clock = FakeClock(wall_start=1_700_000_000.0)
    pool = WorkerPool("closed", workers=1, clock=clock)
    pool.shutdown(0)
    debouncer = Debouncer(print, wait=1, pool=pool, name="index")
    debouncer.trigger("a")
    debouncer.trigger("b")
    clock.advance(3)  # the run falls due at 1 s and its pool refuses it
    # The record is emitted on a helper thread (a blocking handler must not
    # hold up a shutdown); wait for it as a deadlock detector only.
    assert wait_for(lambda: bool(records(caplog, "dropped 2 item(s)")), DEADLOCK)
    (record,) = records(caplog, "dropped 2 item(s)")
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("dualqueue: debouncer index dropped 2 item(s): ")
    assert "closed" in record.getMessage()
    error = debouncer.snapshot()["last_error"]
    assert error["type"] == "dualqueue.errors.PoolClosedError"
    assert error["at"] == "2023-11-14T22:13:21.000+00:00"  # refused at 1 s


def test_a_failed_run_is_logged_as_an_error_with_its_traceback(caplog) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    clock = FakeClock()
    failure = ValueError("bad document")

    def run(batch: list[str]) -> None:
        raise failure

    debouncer = Debouncer(run, wait=1, clock=clock, name="index")
    debouncer.trigger("a")
    clock.advance(2)
    (record,) = records(caplog, "run failed")
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "dualqueue: debouncer index run failed"
    assert record.exc_info is not None and record.exc_info[1] is failure
    error = debouncer.snapshot()["last_error"]
    assert set(error) == {"type", "message", "at"}
    assert (error["type"], error["message"]) == ("ValueError", "bad document")
    assert error["at"] == "2023-11-14T22:13:21.000+00:00"  # the run's time, 1 s


# The debouncer's entry in the status picture: a JSON schema pages and
# monitoring read by key, so a renamed key is a broken promise.
SNAPSHOT_KEYS = {
    "name",
    "wait",
    "max_wait",
    "pool",
    "state",
    "pending",
    "pending_items",
    "next_run_in",
    "running",
    "running_seconds",
    "closed",
    "triggers",
    "runs",
    "delivered",
    "failed_runs",
    "dropped",
    "last_run_at",
    "last_error",
}


def test_the_snapshot_shows_the_window_and_the_run_in_seconds() -> None:
    clock = FakeClock()
    pool = WorkerPool("index", workers=1, clock=clock)
    gate = Gate()
    debouncer = Debouncer(lambda batch: gate.task(), wait=10, max_wait=30, pool=pool, name="idx")
    snap = debouncer.snapshot()
    assert set(snap) == SNAPSHOT_KEYS
    assert (snap["name"], snap["wait"], snap["max_wait"], snap["pool"]) == ("idx", 10.0, 30.0, "index")
    assert (snap["closed"], snap["last_error"]) == (False, None)
    assert (snap["state"], snap["next_run_in"], snap["running_seconds"], snap["last_run_at"]) == (
        "idle",
        None,
        None,
        None,
    )
    debouncer.trigger("a")
    clock.advance(4)
    snap = debouncer.snapshot()
    assert (snap["state"], snap["pending_items"], snap["next_run_in"]) == ("waiting", 1, 6.0)
    clock.advance(6)
    assert gate.wait_until_entered(1)
    clock.advance(2.5)
    debouncer.trigger("b")
    snap = debouncer.snapshot()
    assert (snap["state"], snap["running_seconds"], snap["next_run_in"]) == ("running, waiting", 2.5, 10.0)
    gate.open()
    assert wait_for(lambda: debouncer.snapshot()["runs"] == 1)
    debouncer.cancel()
    clock.advance(7.5)  # the run ended at 12.5 s; the picture is taken at 20 s
    snap = debouncer.snapshot()
    assert snap["last_run_at"] == "2023-11-14T22:13:32.500+00:00"
    assert snap["running_seconds"] is None
    pool.shutdown(DEADLOCK)


def test_the_snapshot_rounds_seconds_to_the_microsecond() -> None:
    clock = FakeClock()
    debouncer = Debouncer(print, wait=1, clock=clock)
    debouncer.trigger("a")
    clock.advance(0.1234567)
    assert debouncer.snapshot()["next_run_in"] == round(1 - 0.1234567, 6) == 0.876543


def test_the_run_is_reported_under_the_debouncers_name() -> None:
    clock = FakeClock()
    pool = WorkerPool("index", workers=1, clock=clock)
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    debouncer = Debouncer(print, wait=1, pool=pool, name="documents-index")
    debouncer.trigger("a")
    clock.advance(1)  # the run waits in the queue behind the gate
    report = pool.shutdown(0)
    assert "debouncer 'documents-index'" in report.dropped
    gate.open()
    assert debouncer.snapshot()["dropped"] == 1 and debouncer.state is State.IDLE


class HandOverPool(WorkerPool):
    """A pool whose ``submit`` is held at its door until the test opens it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.at_door = threading.Event()
        self.door = threading.Event()

    def submit(self, fn, /, *args, **kwargs) -> None:
        self.at_door.set()
        self.door.wait(DEADLOCK)
        super().submit(fn, *args, **kwargs)


class Announcing(threading.Condition):
    """The debouncer's hand-over condition, saying when ``close()`` starts waiting on it."""

    def __init__(self, lock) -> None:
        super().__init__(lock)
        self.waiting = threading.Event()

    def wait(self, timeout=None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


def test_close_returns_once_a_run_being_handed_over_is_in_the_pool() -> None:
    # So that the drain which follows a close() finds the run (JOIN_GRACE at most).
    clock = FakeClock()
    pool = HandOverPool("door", workers=1, clock=clock)
    debouncer = Debouncer(print, wait=1, pool=pool)
    debouncer._handed = Announcing(debouncer._lock)
    order: list[str] = []
    debouncer.trigger("a")
    flusher = threading.Thread(target=lambda: (debouncer.flush(), order.append("handed")))
    flusher.start()
    assert pool.at_door.wait(DEADLOCK)
    closer = threading.Thread(target=lambda: (debouncer.close(), order.append("closed")))
    closer.start()
    assert debouncer._handed.waiting.wait(DEADLOCK), "close() did not wait for the run in hand"
    pool.door.set()
    flusher.join(DEADLOCK)
    closer.join(DEADLOCK)
    assert not closer.is_alive() and pool.join(DEADLOCK)
    assert order[0] == "handed" and sorted(order) == ["closed", "handed"]
    assert pool.shutdown(DEADLOCK).complete


def test_close_gives_up_on_a_hand_over_that_never_finishes() -> None:
    # Bounded: a pool stuck at its door holds close() for JOIN_GRACE, not forever.
    clock = FakeClock()
    pool = HandOverPool("stuck", workers=1, clock=clock)
    debouncer = Debouncer(print, wait=1, pool=pool)
    debouncer.trigger("a")
    flusher = threading.Thread(target=debouncer.flush)
    flusher.start()
    assert pool.at_door.wait(DEADLOCK)
    closer = threading.Thread(target=debouncer.close)
    closer.start()
    closer.join(DEADLOCK)
    stuck = closer.is_alive()
    pool.door.set()
    flusher.join(DEADLOCK)
    assert not stuck, "close() waited for the hand-over past JOIN_GRACE"
    pool.shutdown(DEADLOCK)


def test_a_follow_up_dropped_at_shutdown_is_logged_without_holding_up_the_shutdown() -> None:
    clock = FakeClock()
    pool = WorkerPool("index", workers=1, clock=clock)
    gate = Gate()
    debouncer = Debouncer(lambda batch: gate.task(), wait=1, pool=pool, name="idx")
    debouncer.trigger("a")
    clock.advance(1)
    assert gate.wait_until_entered(1)
    debouncer.trigger("b")
    debouncer.trigger("c")
    assert debouncer.flush() and debouncer.state is State.RUNNING_FLUSHED
    handler = Blocking()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    reports = []
    try:
        shutdown = threading.Thread(target=lambda: reports.append(pool.shutdown(0)))
        shutdown.start()
        shutdown.join(DEADLOCK)
        returned = not shutdown.is_alive()
    finally:
        handler.unblock.set()
        logger.removeHandler(handler)
        gate.open()
    # The records emitted aside have finished: the handler's lock is free again.
    assert handler.lock is not None and handler.lock.acquire(timeout=DEADLOCK)
    handler.lock.release()
    assert returned, "a blocking log handler held up shutdown(0)"
    (report,) = reports
    # The run in flight is abandoned; its flushed follow-up is dropped and named.
    assert report.still_running == ("debouncer 'idx'",)
    assert report.dropped == ("debouncer 'idx'",)
    (record,) = [r for r in handler.seen if "follow-up" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "dualqueue: debouncer idx dropped its follow-up of 2 item(s) at shutdown"
    assert wait_for(lambda: debouncer.state is State.IDLE)
    assert debouncer.snapshot()["dropped"] == 2


def test_a_run_abandoned_at_shutdown_without_a_follow_up_drops_nothing() -> None:
    clock = FakeClock()
    pool = WorkerPool("index", workers=1, clock=clock)
    gate = Gate()
    debouncer = Debouncer(lambda batch: gate.task(), wait=1, pool=pool, name="idx")
    debouncer.trigger("a")
    clock.advance(1)
    assert gate.wait_until_entered(1)
    report = pool.shutdown(0)
    gate.open()
    assert (report.still_running, report.dropped) == (("debouncer 'idx'",), ())
    assert wait_for(lambda: debouncer.snapshot()["runs"] == 1)
    assert debouncer.snapshot()["dropped"] == 0


def test_a_burst_arms_one_timer_not_one_per_trigger() -> None:
    clock = FakeClock()
    debouncer = Debouncer(print, wait=5, clock=clock)
    for i in range(1000):
        debouncer.trigger(i)
        clock.advance(0.001)
    assert clock.scheduled == 1


def test_with_no_wait_a_trigger_during_a_due_follow_up_does_not_postpone_it() -> None:
    # wait=0: the window of a trigger has elapsed the moment it is made, so a
    # follow-up that is due stays due and starts as soon as the run ends,
    # without another tick of the clock.
    clock = FakeClock()
    pool = WorkerPool("zero", workers=1, clock=clock)
    gate = Gate()
    runs: list[list[str]] = []

    def run(batch: list[str]) -> None:
        runs.append(batch)
        if len(runs) == 1:
            gate.task()

    debouncer = Debouncer(run, wait=0, pool=pool)
    debouncer.trigger("a")
    clock.advance(0)
    assert gate.wait_until_entered(1)
    debouncer.trigger("b")
    clock.advance(0)
    assert debouncer.state is State.RUNNING_DUE
    debouncer.trigger("c")
    assert debouncer.state is State.RUNNING_DUE
    gate.open()
    assert wait_for(lambda: len(runs) == 2), "the due follow-up waited for the clock"
    assert runs == [["a"], ["b", "c"]]
    pool.shutdown(DEADLOCK)


class SecondDoorPool(WorkerPool):
    """A pool that holds the second ``submit`` (a follow-up's) at its door."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.submits = 0
        self.at_door = threading.Event()
        self.door = threading.Event()

    def submit(self, fn, /, *args, **kwargs) -> None:
        self.submits += 1
        if self.submits == 2:
            self.at_door.set()
            self.door.wait(DEADLOCK)
        super().submit(fn, *args, **kwargs)


def test_a_follow_up_on_its_way_to_the_pool_when_shutdown_comes_is_named_once() -> None:
    # The run ended and took its follow-up; the shutdown's deadline passes
    # while the follow-up is handed to the pool, which then refuses it. The
    # report names it as dropped; the debouncer counts its items as dropped.
    clock = FakeClock()
    pool = SecondDoorPool("door", workers=1, clock=clock)
    gate = Gate()
    debouncer = Debouncer(lambda batch: gate.task(), wait=1, pool=pool, name="idx")
    debouncer.trigger("a")
    clock.advance(1)
    assert gate.wait_until_entered(1)
    debouncer.trigger("b")
    debouncer.trigger("c")
    assert debouncer.flush()
    gate.open()
    assert pool.at_door.wait(DEADLOCK)  # the worker is handing the follow-up over
    report = pool.shutdown(0)
    pool.door.set()
    assert report.still_running == ("debouncer 'idx'",)
    assert report.dropped == ("debouncer 'idx'",)
    assert wait_for(lambda: debouncer.state is State.IDLE)
    snap = debouncer.snapshot()
    assert (snap["runs"], snap["delivered"], snap["dropped"]) == (1, 1, 2)


def test_the_dropped_count_adds_a_follow_up_dropped_at_shutdown_to_earlier_drops() -> None:
    clock = FakeClock()
    pool = WorkerPool("index", workers=1, maxsize=1, clock=clock)
    busy, runs = Gate(), Gate()
    debouncer = Debouncer(lambda batch: runs.task(), wait=1, pool=pool, name="idx")
    pool.submit(busy.task)
    assert busy.wait_until_entered(1)
    pool.submit(int)  # the queue is full
    debouncer.trigger("refused")
    clock.advance(1)  # the run is refused by the full pool: its item is dropped
    assert debouncer.snapshot()["dropped"] == 1
    busy.open()
    assert pool.join(DEADLOCK)
    debouncer.trigger("a")
    clock.advance(1)
    assert runs.wait_until_entered(1)
    debouncer.trigger("b")
    debouncer.trigger("c")
    assert debouncer.flush()
    report = pool.shutdown(0)  # the follow-up of the run in flight is dropped
    runs.open()
    assert report.dropped == ("debouncer 'idx'",)
    assert wait_for(lambda: debouncer.state is State.IDLE)
    assert debouncer.snapshot()["dropped"] == 3, "the drop at shutdown replaced the count"
