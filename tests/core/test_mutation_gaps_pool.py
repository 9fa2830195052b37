"""What the worker pool promises that no other test checked: found by mutation testing.

``make mutation`` left these lines of ``dualqueue/pool.py`` changeable with every
test still passing. Each test below states the behaviour the line is for, as a
user or an operator sees it: the snapshot's fields and their precision, the text
and level of a log record, the message of a refusal, a shutdown report's
accounting, the thread a task or a log record runs on. The clock is a
``FakeClock``; real waits are bounded (``DEADLOCK``) and only detect a hang.
"""

from __future__ import annotations

import gc
import logging
import math
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dualqueue import Debouncer, FakeClock, Retry, TaskSystem, WorkerPool, report_progress
from dualqueue import pool as pool_module
from dualqueue.clock import Handle, SystemClock
from dualqueue.errors import PoolClosedError
from dualqueue.retry import task_name

from .support import DEADLOCK, Gate, wait_for

LOGGER = "dualqueue"
WALL = 1_700_000_000.0  # FakeClock's default wall start: 2023-11-14T22:13:20Z
AT_START = "2023-11-14T22:13:20.000+00:00"


def records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and text in r.getMessage()]


def consistent(snap: dict[str, Any]) -> bool:
    parts = ("scheduled", "queued", "running", "succeeded", "failed", "dropped")
    return snap["submitted"] == sum(snap[part] for part in parts)


def job() -> None:
    """A task that does nothing, with a stable name."""


def boom() -> None:
    raise ValueError("nope")


def in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Run ``fn`` on a daemon thread; its result lands in the list."""
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    return thread, out


@pytest.fixture
def own_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """drain_all() sees only the pools this test creates."""
    monkeypatch.setattr(pool_module, "_live_pools", weakref.WeakSet())
    yield


# -- the snapshot ----------------------------------------------------------------


def test_the_defaults_are_the_documented_ones(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL + 1, logger=LOGGER)
    pool = WorkerPool("defaults", clock=FakeClock())
    assert (pool.workers, pool.maxsize, pool.exit_timeout) == (2, 0, 30.0)
    assert pool.closed is False and pool.snapshot()["closed"] is False
    for _ in range(101):
        pool.submit(boom)
    assert pool.join(DEADLOCK)
    snap = pool.snapshot()
    assert snap["failed"] == 101 and len(snap["dead_letters"]) == 100  # the last 100 kept
    pool.shutdown(DEADLOCK)
    assert pool.closed is True


def test_the_default_clock_is_made_once_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_module, "_default_clock", None)  # as in a fresh process
    clock = pool_module.default_clock()
    assert isinstance(clock, SystemClock)
    assert pool_module.default_clock() is clock
    assert WorkerPool("default-clock", workers=1).clock is clock


def test_the_constructor_names_what_was_wrong(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL + 1, logger=LOGGER)
    for argument, minimum in (("workers", 1), ("maxsize", 0), ("dead_letters", 0)):
        with pytest.raises(ValueError, match=f"^{argument} must be an int >= {minimum}, got -1$"):
            WorkerPool("bad", **{argument: -1})
    pool = WorkerPool("no-letters", workers=1, dead_letters=0, clock=FakeClock())  # 0 keeps none
    pool.submit(boom)
    assert pool.join(DEADLOCK)
    snap = pool.snapshot()
    assert snap["failed"] == 1 and snap["dead_letters"] == []
    pool.shutdown(DEADLOCK)


def test_ages_and_the_next_due_time_are_shown_to_the_microsecond() -> None:
    clock = FakeClock()
    clock.advance(1)  # every age below is now minus a time that is not zero
    pool = WorkerPool("ages", workers=1, maxsize=3, clock=clock)
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    pool.submit(job)
    pool.submit_after(1.0000004, job)
    clock.advance(0.1234567)
    try:
        snap = pool.snapshot()
        assert snap["name"] == "ages" and snap["maxsize"] == 3
        for key in ("oldest_running_seconds", "oldest_queued_seconds"):
            assert snap[key] == 0.123457, key  # not 0, not 1.0, not 7 digits
        (running,) = snap["running_tasks"]
        assert running["running_seconds"] == 0.123457
        exact = (1.0 + 1.0000004) - (1.0 + 0.1234567)
        shown = snap["next_scheduled_in"]
        assert shown == round(exact, 6) and shown != round(exact, 7)
    finally:
        gate.open()
    assert pool.shutdown(DEADLOCK).dropped == ("tests.core.test_mutation_gaps_pool.job",)


class SlowToName:
    """A callable whose name takes until the test says so: its worker is "starting"."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.answer = threading.Event()

    @property
    def task_name(self) -> str:
        self.asked.set()
        self.answer.wait(DEADLOCK)
        return "slow-to-name"

    def __call__(self) -> None:
        pass


@pytest.mark.parametrize("before", [job, boom], ids=["after a success", "after a failure"])
def test_a_task_whose_name_is_not_read_yet_is_shown_as_starting(before: Callable[[], None]) -> None:
    # The worker reads the running task's name itself (it is user code), just
    # before running it; a snapshot in between shows the placeholder, never the
    # name of the task the slot ran before.
    pool = WorkerPool("starting", workers=1, clock=FakeClock())
    pool.submit(before)
    assert pool.join(DEADLOCK)
    slow = SlowToName()
    pool.submit(slow)
    try:
        assert slow.asked.wait(DEADLOCK)
        (running,) = pool.snapshot()["running_tasks"]
        assert running["name"] == "<starting>"
    finally:
        slow.answer.set()
    assert pool.join(DEADLOCK)
    assert pool.shutdown(DEADLOCK).complete


def test_every_timestamp_of_the_snapshot_is_the_clocks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL + 1, logger=LOGGER)  # the failure's record is not the point
    clock = FakeClock(wall_start=WALL)
    pool = WorkerPool("stamps", workers=1, clock=clock)
    pool.submit(job)
    assert pool.join(DEADLOCK)
    snap = pool.snapshot()
    assert (snap["last_submitted_at"], snap["last_finished_at"]) == (AT_START, AT_START)
    assert [r["finished_at"] for r in snap["recent"]] == [AT_START]
    clock.advance(1)
    pool.submit(boom)
    assert pool.join(DEADLOCK)
    one_later = "2023-11-14T22:13:21.000+00:00"
    snap = pool.snapshot()
    assert snap["last_finished_at"] == one_later
    assert snap["last_error"] == {"type": "ValueError", "message": "nope", "at": one_later}
    (letter,) = snap["dead_letters"]
    assert letter["failed_at"] == one_later and letter["task"].endswith(".boom")
    assert [r["finished_at"] for r in snap["recent"]] == [AT_START, one_later]
    clock.advance(1)
    pool.submit_after(5, job)
    assert pool.snapshot()["last_submitted_at"] == "2023-11-14T22:13:22.000+00:00"
    assert pool.shutdown(0).scheduled == 1


def test_a_task_gets_its_keyword_arguments() -> None:
    pool = WorkerPool("kwargs", workers=1, clock=FakeClock())
    seen: list[tuple[Any, ...]] = []
    pool.submit(lambda *args, **kwargs: seen.append((args, kwargs)), 1, key="value")
    assert pool.join(DEADLOCK)
    assert seen == [((1,), {"key": "value"})]
    pool.shutdown(DEADLOCK)


def test_each_refusal_by_a_full_queue_is_counted() -> None:
    pool = WorkerPool("full", workers=1, maxsize=1, clock=FakeClock())
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    pool.submit(job)
    try:
        for _ in range(3):
            with pytest.raises(Exception, match=r"'full' pool queue is full \(1 waiting\)"):
                pool.submit(job)
        assert pool.snapshot()["rejected"] == 3
    finally:
        gate.open()
    pool.shutdown(DEADLOCK)


# -- progress --------------------------------------------------------------------


def test_a_bad_progress_report_is_refused_naming_the_argument() -> None:
    # Checked before anything else, in the task: these hold on any thread.
    cases: list[tuple[Callable[[], object], type[Exception], str]] = [
        (lambda: report_progress("1"), TypeError, "current must be a number, got str"),
        (lambda: report_progress(math.nan), ValueError, "current must be a finite number >= 0, got nan"),
        (lambda: report_progress(10**400), ValueError, "current must be a finite number >= 0, got 1000"),
        (lambda: report_progress(1, "2"), TypeError, "total must be a number, got str"),
        (lambda: report_progress(1, -2), ValueError, "total must be a finite number >= 0, got -2"),
        (lambda: report_progress(0, 0), ValueError, r"total must be > 0 or None, got 0\.0"),
        (lambda: report_progress(2, 1), ValueError, r"current \(2\.0\) must not exceed total \(1\.0\)"),
        (lambda: report_progress(1, message=3), TypeError, "message must be a str, got int"),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind, match=f"^{message}"):
            call()


def test_progress_as_the_snapshot_shows_it() -> None:
    pool = WorkerPool("progress", workers=1, clock=FakeClock())
    step = threading.Semaphore(0)
    results: list[bool] = []
    exactly = "x" * 200  # MESSAGE_LIMIT characters: kept whole

    def task() -> None:
        results.append(report_progress(0.25, 0.5))  # a total below 1 is a total
        step.acquire()
        results.append(report_progress(1, 3, exactly))
        step.acquire()

    pool.submit(task)
    try:
        assert wait_for(lambda: len(results) == 1)
        (running,) = pool.snapshot()["running_tasks"]
        assert running["progress"]["fraction"] == 0.5
        assert running["progress"]["message"] == ""  # no message given
        step.release()
        assert wait_for(lambda: len(results) == 2)
        (running,) = pool.snapshot()["running_tasks"]
        assert running["progress"]["fraction"] == 0.3333  # four digits
        assert running["progress"]["message"] == exactly
    finally:
        step.release()
        step.release()
    assert pool.join(DEADLOCK)
    assert results == [True, True]
    pool.shutdown(DEADLOCK)


def test_progress_reported_once_the_task_has_ended_is_not_recorded(caplog: pytest.LogCaptureFixture) -> None:
    # A task's failure is logged on its worker, after the task has ended: a log
    # handler there that reports progress is running no task, and is told so.
    caplog.set_level(logging.ERROR, logger=LOGGER)
    answers: list[bool] = []

    class Reporting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "failed in pool 'ended'" in record.getMessage():
                answers.append(report_progress(1, 2, "after the end"))

    handler = Reporting()
    logging.getLogger(LOGGER).addHandler(handler)
    try:
        pool = WorkerPool("ended", workers=1, clock=FakeClock())
        pool.submit(boom)
        assert wait_for(lambda: bool(answers))
    finally:
        logging.getLogger(LOGGER).removeHandler(handler)
    assert answers == [False]
    assert pool.snapshot()["running_tasks"] == []
    pool.shutdown(DEADLOCK)


# -- refusals and their messages -------------------------------------------------


def test_refusals_name_the_pool_the_task_and_what_was_wrong() -> None:
    pool = WorkerPool("refusing", workers=1, clock=FakeClock())
    with pytest.raises(TypeError, match=r"^'refusing' pool: a task must be callable, got int$"):
        pool.submit_after(1, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^delay must be a finite number of seconds >= 0, got -1$"):
        pool.submit_after(-1, job)
    pool.shutdown(0)
    closed = re.escape("'refusing' pool is shut down; tests.core.test_mutation_gaps_pool.job was not queued")
    with pytest.raises(PoolClosedError, match=f"^{closed}$"):
        pool.submit(job)
    with pytest.raises(PoolClosedError, match=f"^{closed}$"):
        pool.submit_after(1, job)


def test_a_clock_that_refuses_a_deferred_task_is_named_in_the_error() -> None:
    class Refusing(FakeClock):
        def call_later(self, delay: float, fn: Callable[[], object]) -> Handle:
            raise OSError("no timer left")

    pool = WorkerPool("no-timer", workers=1, clock=Refusing())
    with pytest.raises(RuntimeError) as refused:
        pool.submit_after(1, job)
    assert str(refused.value) == (
        "'no-timer' pool: the clock refused to schedule "
        "tests.core.test_mutation_gaps_pool.job (OSError); it was not queued"
    )
    snap = pool.snapshot()
    assert snap["submitted"] == snap["scheduled"] == 0
    pool.shutdown(0)


def test_waiting_from_inside_the_pool_is_refused_naming_the_call() -> None:
    # From a signal handler that interrupted the pool's critical section (here:
    # this thread holds the pool's mutex, as such a handler's thread would).
    pool = WorkerPool("reentrant", workers=1, clock=FakeClock())
    inside = "^'reentrant' pool: {} called while this thread is inside the pool's critical section"
    with pool._mutex:
        for name, call in [
            ("snapshot()", pool.snapshot),
            ("join()", pool.join),
            ("shutdown()", lambda: pool.shutdown(0)),
        ]:
            with pytest.raises(RuntimeError, match=inside.format(name.replace("(", r"\(").replace(")", r"\)"))):
                call()
    assert not pool.closed
    # From one of its own workers: it would wait for itself.
    errors: list[str] = []

    def waits_for_itself() -> None:
        for call in (pool.join, lambda: pool.shutdown(0)):
            try:
                call()
            except RuntimeError as exc:
                errors.append(str(exc))

    pool.submit(waits_for_itself)
    assert pool.join(DEADLOCK)
    suffix = " called from a worker of the 'reentrant' pool would wait for itself; call it from another thread"
    assert errors == ["join()" + suffix, "shutdown()" + suffix]
    assert pool.shutdown(DEADLOCK).complete


def test_join_without_a_timeout_waits_until_the_work_is_done() -> None:
    pool = WorkerPool("patient", workers=1, clock=FakeClock())
    done: list[int] = []
    pool.submit(done.append, 1)
    assert pool.join() is True
    assert done == [1]
    pool.shutdown()


# -- failures, retries and their log records ------------------------------------


def test_a_retried_failure_is_a_warning_and_the_last_one_an_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    clock = FakeClock()
    pool = WorkerPool("retried", workers=1, clock=clock)
    task = Retry(attempts=2, base_delay=2, jitter=0)(boom)
    pool.submit(task)
    assert wait_for(lambda: bool(records(caplog, "retrying")))
    name = "tests.core.test_mutation_gaps_pool.boom"
    (warning,) = records(caplog, "retrying")
    assert warning.levelno == logging.WARNING
    assert warning.getMessage() == (
        f"dualqueue: task {name} failed in pool 'retried' (attempt 1, ValueError: nope); retrying in 2.00s"
    )
    clock.advance(2)
    assert pool.join(DEADLOCK)
    assert wait_for(lambda: bool(records(caplog, "(attempt 2)")))
    (error,) = records(caplog, "(attempt 2)")
    assert error.levelno == logging.ERROR
    assert error.getMessage() == f"dualqueue: task {name} failed in pool 'retried' (attempt 2)"
    assert error.exc_info is not None and isinstance(error.exc_info[1], ValueError)
    pool.shutdown(DEADLOCK)


def test_a_retry_policy_that_gives_no_delay_ends_the_task_with_its_own_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL + 1, logger=LOGGER)
    pool = WorkerPool("bad-policy", workers=1, clock=FakeClock())
    pool.submit(Retry(attempts=3, rng=lambda: math.nan)(boom))  # the delay is NaN
    assert pool.join(DEADLOCK)
    snap = pool.snapshot()
    assert snap["failed"] == 1 and snap["retried"] == 0
    error = snap["last_error"]
    assert error["type"] == "ValueError"
    assert error["message"] == "a retry policy's delay must be a finite number of seconds >= 0, got nan"
    pool.shutdown(DEADLOCK)


def test_tasks_run_on_daemon_threads_named_after_their_pool() -> None:
    # Daemon: a task that never returns cannot hold the interpreter open. The
    # name is what thread dumps and log formats (%(threadName)s) show.
    pool = WorkerPool("named", workers=2, clock=FakeClock())
    gate = Gate()
    seen: list[tuple[str, bool]] = []

    def where() -> None:
        thread = threading.current_thread()
        seen.append((thread.name, thread.daemon))
        gate.task()

    pool.submit(where)
    pool.submit(where)
    try:
        assert gate.wait_until_entered(2)
    finally:
        gate.open()
    assert sorted(seen) == [("dualqueue-named-0", True), ("dualqueue-named-1", True)]
    pool.shutdown(DEADLOCK)


def test_a_pool_runs_on_the_workers_that_could_start(monkeypatch: pytest.MonkeyPatch) -> None:
    started = 0
    start = threading.Thread.start

    def second_refused(self: threading.Thread) -> None:
        nonlocal started
        started += 1
        if started > 1:
            raise RuntimeError("can't start new thread")
        start(self)

    pool = WorkerPool("half", workers=2, clock=FakeClock())
    with monkeypatch.context() as patch:
        patch.setattr(threading.Thread, "start", second_refused)
        pool.submit(job)  # one worker started: accepted
    assert pool.join(DEADLOCK)
    snap = pool.snapshot()
    assert snap["started"] and snap["succeeded"] == 1
    pool.shutdown(DEADLOCK)


# -- shutdown ----------------------------------------------------------------------


def test_an_incomplete_shutdown_is_a_warning_naming_what_was_left(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    seen: list[tuple[str, bool]] = []

    class Where(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "shut down with" in record.getMessage():
                thread = threading.current_thread()
                seen.append((thread.name, thread.daemon))

    handler = Where()
    logging.getLogger(LOGGER).addHandler(handler)
    pool = WorkerPool("left", workers=1, clock=FakeClock())
    gate = Gate()
    try:
        pool.submit(gate.task)
        assert gate.wait_until_entered(1)
        pool.submit(job)
        report = pool.shutdown(0)
        assert wait_for(lambda: bool(seen))
    finally:
        gate.open()
        logging.getLogger(LOGGER).removeHandler(handler)
    (record,) = records(caplog, "shut down with")
    assert record.levelno == logging.WARNING
    running = task_name(gate.task)
    assert record.getMessage() == (
        "dualqueue: pool 'left' shut down with 1 task(s) dropped "
        "['tests.core.test_mutation_gaps_pool.job'] and 1 still running "
        f"[{running!r}]"
    )
    assert report.still_running == (running,)
    # Emitted aside, on a daemon thread: a blocking handler cannot hold up the
    # shutdown, nor the interpreter's exit.
    assert seen == [("dualqueue-log", True)]


def test_a_complete_shutdown_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    pool = WorkerPool("clean", workers=1, clock=FakeClock())
    pool.submit(job)
    assert pool.shutdown(DEADLOCK).complete
    assert not records(caplog, "shut down with")


def test_a_flush_failing_at_exit_is_logged_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from dualqueue import system as system_module

    caplog.set_level(logging.DEBUG, logger=LOGGER)
    tasks = TaskSystem(general=1)
    bad = tasks.debouncer("bad", print, wait=3600)

    def fail() -> None:
        raise SystemExit("a flush that exits")

    monkeypatch.setattr(bad, "close", fail)
    monkeypatch.setattr(system_module, "_live_systems", weakref.WeakSet([tasks]))
    monkeypatch.setattr(pool_module, "_live_pools", weakref.WeakSet(tasks.pools.values()))
    system_module._at_exit()
    assert wait_for(lambda: bool(records(caplog, "at exit failed")))
    (record,) = records(caplog, "at exit failed")
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], SystemExit)


def follow_ups(pool: WorkerPool, clock: FakeClock, run: Callable[[list[int]], None]) -> list[Debouncer]:
    """Two debouncers on ``pool``, each with a run handed over and a follow-up due."""
    debouncers = [Debouncer(run, wait=1, pool=pool, clock=clock, name=name) for name in "ab"]
    for debouncer in debouncers:
        debouncer.trigger(1)
    clock.advance(1)
    return debouncers


def test_dropped_debouncer_runs_and_their_follow_ups_are_all_accounted_for() -> None:
    clock = FakeClock()
    pool = WorkerPool("queued-runs", workers=1, clock=clock)
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    try:
        debouncers = follow_ups(pool, clock, lambda batch: None)  # both runs wait in the queue
        for debouncer in debouncers:
            debouncer.trigger(2)
        clock.advance(1)  # and each has a follow-up due after its run
        before = time.monotonic()
        report = pool_module.drain([pool], 0)
        took = time.monotonic() - before
    finally:
        gate.open()
    mine = report.pools["queued-runs"]
    assert sorted(mine.dropped) == ["debouncer 'a'"] * 2 + ["debouncer 'b'"] * 2
    assert mine.queued == 4 and mine.running == 1
    assert mine.as_dict()["dropped"] == list(mine.dropped)
    snap = pool.snapshot()
    assert snap["dropped"] == 4 and consistent(snap)
    assert 0 <= mine.elapsed <= report.elapsed <= took  # the pool's drain is part of the whole


def test_abandoned_debouncer_runs_give_up_every_follow_up() -> None:
    clock = FakeClock()
    pool = WorkerPool("running-runs", workers=2, clock=clock)
    gate = Gate()
    try:
        debouncers = follow_ups(pool, clock, lambda batch: gate.task())
        assert gate.wait_until_entered(2)  # both runs are running
        for debouncer in debouncers:
            debouncer.trigger(2)
        clock.advance(1)
        report = pool.shutdown(0)
    finally:
        gate.open()
    assert sorted(report.still_running) == ["debouncer 'a'", "debouncer 'b'"]
    assert sorted(report.dropped) == ["debouncer 'a'", "debouncer 'b'"]
    snap = pool.snapshot()
    assert snap["dropped"] == 2 and consistent(snap)


def test_a_shutdown_does_not_wait_for_a_drain_already_under_way() -> None:
    pool = WorkerPool("twice", workers=1, clock=FakeClock())
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    first, first_out = in_thread(lambda: pool.shutdown(None))
    try:
        assert wait_for(lambda: pool.closed)  # the first drain holds the pool
        second, second_out = in_thread(lambda: pool.shutdown(0))
        second.join(DEADLOCK)
        assert not second.is_alive(), "shutdown(0) waited for the other drain"
        (report,) = second_out
        assert (report.queued, report.running, report.dropped) == (0, 0, ())  # the other drain's
        assert report.as_dict()["elapsed"] == 0.0
    finally:
        gate.open()
    first.join(DEADLOCK)
    assert first_out[0].complete  # type: ignore[union-attr]


def test_drain_all_with_no_pool_left_reports_nothing(own_registry: None) -> None:
    report = pool_module.drain_all()
    assert report.as_dict() == pool_module.ShutdownReport(0, 0, 0, (), (), report.elapsed).as_dict()
    with pytest.raises(ValueError, match=r"^timeout must be a finite number of seconds >= 0, got -1$"):
        pool_module.drain_all(-1)


def test_drain_all_waits_the_given_timeout_or_else_each_pools_exit_timeout(own_registry: None) -> None:
    gate = Gate()
    try:
        patient = WorkerPool("patient", workers=1, exit_timeout=3600)
        patient.submit(gate.task)
        assert gate.wait_until_entered(1)
        thread, out = in_thread(lambda: pool_module.drain_all(0))  # not the pool's hour
        thread.join(DEADLOCK)
        assert out and out[0].still_running == (task_name(gate.task),)  # type: ignore[attr-defined]
        hasty = WorkerPool("hasty", workers=1, exit_timeout=0)
        hasty.submit(gate.task)
        assert gate.wait_until_entered(2)
        thread, out = in_thread(pool_module.drain_all)  # the pools' own exit_timeout: 0
        thread.join(DEADLOCK)
        assert out and list(out[0].pools) == ["hasty"]  # type: ignore[attr-defined]
    finally:
        gate.open()


# -- deferred tasks ---------------------------------------------------------------


def test_an_unreferenced_pool_still_runs_its_deferred_task() -> None:
    clock = FakeClock()
    ran = threading.Event()
    pool = WorkerPool("forgotten", workers=1, clock=clock)
    pool.submit_after(1, ran.set)
    ref = weakref.ref(pool)
    del pool
    clock.advance(1)
    assert ran.wait(DEADLOCK), "the deferred task was lost with its pool"
    # Idle now, and still unreferenced: it is let go, and collected.
    assert wait_for(lambda: gc.collect() >= 0 and ref() is None), "the idle pool is still held"


def test_a_timer_that_fires_after_the_shutdown_dropped_its_task_does_nothing() -> None:
    # A real clock's timer may already be firing when the shutdown cancels it.
    class Late(FakeClock):
        def __init__(self) -> None:
            super().__init__()
            self.timers: list[Callable[[], object]] = []

        def call_later(self, delay: float, fn: Callable[[], object]) -> Handle:
            self.timers.append(fn)
            return Handle(self.now() + delay, fn)  # its cancel() cannot stop it

    clock = Late()
    pool = WorkerPool("late-timer", workers=1, clock=clock)
    pool.submit_after(1, job)
    assert pool.shutdown(0).dropped == ("tests.core.test_mutation_gaps_pool.job",)
    (timer,) = clock.timers
    timer()  # too late: nothing to put back
    snap = pool.snapshot()
    assert (snap["scheduled"], snap["queued"], snap["dropped"]) == (0, 0, 1) and consistent(snap)
