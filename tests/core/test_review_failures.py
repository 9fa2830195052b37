"""The outside review's fifteen failures, one small specification each.

Each test is the review's failing script made into a claim about the core,
and each one failed on the core before it was fixed (the docstring says how).
Where the failure came from a whole kind of user code, the test tries
several members of the kind, not only the one the review used.
"""

from __future__ import annotations

import gc
import logging
import math
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import pytest
from dualqueue import (
    Debouncer,
    FakeClock,
    Retry,
    SystemClock,
    TaskSystem,
    WorkerPool,
)
from dualqueue import pool as pool_module

from .interleave import consistent
from .support import DEADLOCK, Gate, wait_for

ROOT = Path(__file__).resolve().parents[2]


def healthy(pool: WorkerPool) -> dict[str, Any]:
    """The pool's snapshot, after checking every worker lives and the identity holds."""
    snap = pool.snapshot()
    assert snap["alive_workers"] == pool.workers, f"a worker died: {snap}"
    assert consistent(snap), f"the identity is broken: {snap}"
    return snap


# -- 1. user code inside the pool's bookkeeping ----------------------------


# --8<-- [start:unprintable]
class StrRaises(Exception):
    def __str__(self) -> str:
        raise ValueError("no text for you")


# --8<-- [end:unprintable]


class StrNotText(Exception):
    def __str__(self) -> Any:
        return 42


class StrExits(Exception):
    def __str__(self) -> str:
        raise SystemExit(3)


class StrHuge(Exception):
    def __str__(self) -> str:
        return "x" * 5_000_000


class Meta(type):
    def __getattribute__(cls, name: str) -> Any:
        if name in ("__qualname__", "__module__"):
            raise RuntimeError("no name either")
        return super().__getattribute__(name)


class NamelessType(Exception, metaclass=Meta):
    pass


@pytest.mark.parametrize("kind", [StrRaises, StrNotText, StrExits, StrHuge, NamelessType])
def test_1_an_exception_whose_text_fails_is_recorded_and_the_worker_lives(kind: type[Exception]) -> None:
    """Before: ``str(exc)`` ran under the mutex after ``running -= 1``; the worker died, join hung."""
    pool = WorkerPool("hostile-text", workers=1)

    def task() -> None:
        raise kind()

    for _ in range(3):
        pool.submit(task)
    assert pool.join(DEADLOCK), "join never returned: the worker died"
    snap = healthy(pool)
    assert snap["failed"] == 3
    error = snap["last_error"]
    assert isinstance(error["message"], str) and len(error["message"]) <= 200
    assert isinstance(error["type"], str) and error["type"]
    assert pool.shutdown(DEADLOCK).complete


class NameRaises:
    def __getattr__(self, name: str) -> Any:
        raise KeyboardInterrupt(name)

    def __call__(self) -> None:
        raise RuntimeError("and the task fails too")


def test_1_a_callable_whose_names_raise_is_named_by_its_type_and_the_worker_lives() -> None:
    pool = WorkerPool("hostile-name", workers=1)
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    pool.submit(NameRaises())
    pool.submit(NameRaises())
    report = pool.shutdown(0)  # names the dropped ones: more user code, outside the mutex
    gate.open()
    assert len(report.dropped) == 2 and all("NameRaises" in name for name in report.dropped)
    assert consistent(pool.snapshot())


def test_1_a_log_handler_that_raises_does_not_kill_the_worker() -> None:
    class Exploding(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise SystemExit("the handler exits")

        def handleError(self, record: logging.LogRecord) -> None:
            raise SystemExit("and so does its error handler")

    handler = Exploding()
    logging.getLogger("dualqueue").addHandler(handler)
    try:
        pool = WorkerPool("hostile-log", workers=1)
        for _ in range(3):
            pool.submit(_raise, ValueError("logged"))
        assert pool.join(DEADLOCK)
        assert healthy(pool)["failed"] == 3
        pool.shutdown(DEADLOCK)
    finally:
        logging.getLogger("dualqueue").removeHandler(handler)


def _raise(exc: BaseException) -> None:
    raise exc


# -- 2. retry policies at their limits --------------------------------------


def test_2_the_backoff_stays_finite_however_many_attempts_failed() -> None:
    """Before: ``base_delay * factor ** (n - 1)`` raised ``OverflowError`` near the 1025th failure."""
    policy = Retry(attempts=10**9, base_delay=1.0, factor=2.0, max_delay=60.0, jitter=0)
    for failures in (1024, 1025, 5000, 10**8):
        assert policy.delay(failures) == 60.0
    assert Retry(attempts=10**9, base_delay=0.0, max_delay=0.0).delay(10**6) == 0.0


class PolicyRaises(Retry):
    def delay(self, failures: int) -> float:
        raise OverflowError("the policy itself fails")


class PolicyNaN(Retry):
    def delay(self, failures: int) -> float:
        return math.nan


class PolicyExits(Retry):
    def should_retry(self, exc: BaseException, failures: int) -> bool:
        raise SystemExit("the policy exits")


@pytest.mark.parametrize("policy", [PolicyRaises(attempts=5), PolicyNaN(attempts=5), PolicyExits(attempts=5)])
def test_2_a_policy_that_fails_ends_the_task_as_a_final_failure_not_the_worker(policy: Retry) -> None:
    pool = WorkerPool("hostile-policy", workers=1, clock=FakeClock())
    pool.submit(policy(_raise), ValueError("first attempt"))
    assert pool.join(DEADLOCK)
    snap = healthy(pool)
    assert snap["failed"] == 1 and snap["retrying"] == 0
    assert snap["dead_letters"][0]["attempts"] == 1
    pool.shutdown(DEADLOCK)


# -- 3, 4. a debouncer's run and follow-up at a shutdown ---------------------


def indexing_system() -> tuple[TaskSystem, FakeClock, Debouncer, list[list[str]], Gate]:
    clock = FakeClock()
    tasks = TaskSystem(general=1, clock=clock)
    runs: list[list[str]] = []
    gate = Gate()

    def index(batch: list[str]) -> None:
        if not runs:
            gate.task()  # the first run blocks until the test opens the gate
        runs.append(batch)

    debouncer = tasks.debouncer("index", index, wait=1.0)
    debouncer.trigger("a")
    clock.advance(1.0)  # the first run goes to the pool and blocks there
    assert gate.wait_until_entered(1)
    debouncer.trigger("b")  # a follow-up, pending while the run is in flight
    return tasks, clock, debouncer, runs, gate


def test_3_a_follow_up_flushed_at_shutdown_runs_within_the_drain() -> None:
    """Before: the follow-up's submit got ``PoolClosedError``; the batch vanished, the report said complete."""
    tasks, _, debouncer, runs, gate = indexing_system()
    reports: list[Any] = []
    shutting = threading.Thread(target=lambda: reports.append(tasks.shutdown(DEADLOCK)))
    shutting.start()
    assert wait_for(lambda: tasks["general"].closed)
    gate.open()
    shutting.join(DEADLOCK)
    report = reports[0]
    assert runs == [["a"], ["b"]], "the flushed follow-up was lost"
    assert report.complete and report.finished == 2
    assert report.finished + len(report.dropped) + len(report.still_running) == report.queued + report.running
    assert debouncer.snapshot()["delivered"] == 2


def test_3_a_follow_up_that_cannot_run_before_the_deadline_is_named_as_dropped() -> None:
    tasks, _, debouncer, runs, gate = indexing_system()
    report = tasks.shutdown(0.05)
    assert report.still_running == ("debouncer 'index'",)
    assert report.dropped == ("debouncer 'index'",), "the follow-up was not named"
    assert report.finished + len(report.dropped) + len(report.still_running) == report.queued + report.running
    gate.open()
    assert wait_for(lambda: not debouncer.running)
    assert runs == [["a"]]
    snap = debouncer.snapshot()
    assert snap["dropped"] == 1 and snap["delivered"] == 1 and snap["state"] == "idle"


def test_4_a_run_dropped_by_the_drain_releases_the_guard_and_is_counted() -> None:
    """Before: the "running" guard stayed set forever; later triggers went nowhere, uncounted."""
    clock = FakeClock()
    pool = WorkerPool("busy", workers=1, clock=clock)
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    debouncer = Debouncer(lambda batch: None, wait=1.0, pool=pool, name="index")
    debouncer.trigger("a")
    clock.advance(1.0)  # the run waits in the queue behind the gate
    report = pool.shutdown(0)
    gate.open()
    assert report.dropped == ("debouncer 'index'",)
    assert not debouncer.running, "the guard stayed set"
    debouncer.trigger("b")
    assert debouncer.flush()  # the closed pool refuses the run: counted, not lost
    snap = debouncer.snapshot()
    assert snap["dropped"] == 2 and snap["state"] == "idle" and snap["pending_items"] == 0


# -- 5. the clock's thread ----------------------------------------------------


@pytest.mark.parametrize("kind", [SystemExit, KeyboardInterrupt, GeneratorExit, ValueError])
def test_5_a_callback_raising_any_base_exception_does_not_stop_the_clock(kind: type[BaseException]) -> None:
    """Before: a callback raising ``SystemExit`` ended the clock's thread silently, for good."""
    clock = SystemClock()
    fired = threading.Event()
    clock.call_later(0, lambda: _raise(kind()))
    clock.call_later(0.01, fired.set)
    assert fired.wait(DEADLOCK), f"the clock stopped after a callback raised {kind.__name__}"


# -- 6. waiting for oneself ---------------------------------------------------


@pytest.mark.parametrize("call", ["pool.join", "pool.shutdown", "system.join", "system.shutdown"])
def test_6_join_or_shutdown_from_a_pools_own_worker_raises_at_once(call: str) -> None:
    """Before: ``join`` waited forever, ``shutdown(30)`` 30 s and then reported itself running."""
    tasks = TaskSystem(general=1, site=1)
    pool = tasks["general"]
    seen: list[BaseException] = []
    target = {"pool": pool, "system": tasks}[call.split(".")[0]]
    method = getattr(target, call.split(".")[1])

    def task() -> None:
        try:
            method(DEADLOCK * 3)
        except RuntimeError as exc:
            seen.append(exc)

    pool.submit(task)
    assert pool.join(DEADLOCK), "the task waited for itself"
    assert len(seen) == 1 and "would wait for itself" in str(seen[0]), seen
    assert not pool.closed, "a refused shutdown closed the pool"
    tasks.shutdown(DEADLOCK)


# -- 7. timeouts and delays ---------------------------------------------------

BAD_SECONDS = [math.inf, -math.inf, math.nan, -1, True, "1", 10**400]


@pytest.mark.parametrize("bad", BAD_SECONDS, ids=repr)
def test_7_every_timeout_and_delay_is_checked_at_the_caller(bad: Any) -> None:
    """Before: ``shutdown(timeout=inf)`` closed every pool, then ``Condition.wait(inf)`` raised OverflowError."""
    pool = WorkerPool("timeouts", workers=1)
    tasks = TaskSystem(general=1)
    clock = SystemClock()
    calls = [
        lambda: pool.shutdown(bad),
        lambda: pool.join(bad),
        lambda: tasks.shutdown(bad),
        lambda: tasks.join(bad),
        lambda: pool_module.drain_all(bad),
        lambda: WorkerPool("x", exit_timeout=bad),
        lambda: TaskSystem(exit_timeout=bad),
        lambda: clock.call_later(bad, lambda: None),
        lambda: FakeClock().call_later(bad, lambda: None),
        lambda: FakeClock().advance(bad),
        lambda: Debouncer(print, wait=bad),
        lambda: Debouncer(print, wait=1, max_wait=bad),
        lambda: Retry(base_delay=bad),
        lambda: Retry(max_delay=bad),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="must be"):
            call()
    assert not pool.closed and not tasks["general"].closed, "a refused timeout closed a pool"


def test_7_a_huge_but_finite_timeout_waits_without_overflow() -> None:
    pool = WorkerPool("huge", workers=1)
    pool.submit(lambda: None)
    assert pool.join(1e300)
    assert pool.shutdown(1e300).complete


# -- 8. the registries ---------------------------------------------------------


def test_8_a_pool_created_while_drain_all_walks_the_registry_waits_its_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: "Set changed size during iteration" in drain_all (and in the exit hook) under load."""
    mid_walk, created = threading.Event(), threading.Event()

    class Watched(weakref.WeakSet):  # type: ignore[type-arg]
        def __iter__(self) -> Any:
            for i, pool in enumerate(super().__iter__()):
                if i == 0:
                    mid_walk.set()
                    created.wait(0.5)  # set at once if nothing guards the registry
                yield pool

    first = WorkerPool("walked", workers=1)
    monkeypatch.setattr(pool_module, "_live_pools", Watched([first]))
    newcomer: list[WorkerPool] = []

    def create() -> None:
        mid_walk.wait(DEADLOCK)
        newcomer.append(WorkerPool("newcomer", workers=1))
        created.set()

    creator = threading.Thread(target=create)
    creator.start()
    report = pool_module.drain_all(DEADLOCK)  # raised RuntimeError before
    creator.join(DEADLOCK)
    assert "walked" in report.pools and newcomer


def test_8_a_failure_while_flushing_debouncers_at_exit_does_not_skip_the_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    from dualqueue import system as system_module

    tasks = TaskSystem(general=1)
    bad = tasks.debouncer("bad", print, wait=3600)
    monkeypatch.setattr(bad, "close", lambda: _raise(SystemExit("a flush that exits")))
    monkeypatch.setattr(system_module, "_live_systems", weakref.WeakSet([tasks]))
    monkeypatch.setattr(pool_module, "_live_pools", weakref.WeakSet(tasks.pools.values()))
    system_module._at_exit()
    assert tasks["general"].closed, "the drain was skipped"


# -- 9. signal handlers ---------------------------------------------------------

SIGNAL_SCRIPT = textwrap.dedent(
    """
    import signal, sys, threading
    from dualqueue import WorkerPool
    from dualqueue.stats import PoolStats

    class SignalInside(PoolStats):
        # The signal lands exactly inside submit's critical section: when
        # submit counts the task, with the pool's mutex held.
        __slots__ = ()
        @property
        def submitted(self):
            return PoolStats.submitted.__get__(self)
        @submitted.setter
        def submitted(self, value):
            PoolStats.submitted.__set__(self, value)
            if value == 1:
                signal.raise_signal(signal.SIGUSR1)  # runs the handler before returning

    pool = WorkerPool("signalled", workers=1)
    pool._stats = SignalInside(10)
    outcomes = []
    later = []

    def handler(signum, frame):
        for call in (pool.snapshot, lambda: pool.join(1), lambda: pool.shutdown(1)):
            try:
                call()
                outcomes.append("returned")
            except RuntimeError as exc:
                outcomes.append("refused" if "critical section" in str(exc) else repr(exc))
        # The safe way for a status dump: another thread, which waits for the lock.
        thread = threading.Thread(target=lambda: later.append(pool.snapshot()))
        thread.start()
        later.append(thread)

    signal.signal(signal.SIGUSR1, handler)
    ran = []
    pool.submit(ran.append, "the task ran")
    later[0].join(10)
    snap = later[1]
    ok = snap["submitted"] == snap["queued"] + snap["running"] + snap["succeeded"] + snap["failed"] + snap["dropped"]
    print(outcomes, "consistent" if ok else snap)
    print(pool.join(10), pool.shutdown(10).complete, ran)
    """
)


def test_9_a_signal_handler_inside_submits_critical_section_gets_an_error_not_a_deadlock() -> None:
    """Before: the handler's snapshot waited forever for the mutex its own thread held."""
    result = subprocess.run([sys.executable, "-c", SIGNAL_SCRIPT], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "['refused', 'refused', 'refused'] consistent" in lines, result.stdout
    assert "True True ['the task ran']" in lines, result.stdout


# -- 10. the shutdown's bound ------------------------------------------------------


def test_10_shutdown_returns_within_its_timeout_whatever_log_handlers_do() -> None:
    """Before: after the wait, each worker was joined for a fixed 1.0 s: shutdown(0.1) took 5 s."""
    release = threading.Event()
    entered = threading.Semaphore(0)

    class Stuck(logging.Handler):
        def handle(self, record: logging.LogRecord) -> bool:  # without the handler's lock: all five block
            entered.release()
            release.wait()
            return True

        def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() does not call it
            pass

    handler = Stuck()
    logging.getLogger("dualqueue").addHandler(handler)
    try:
        pool = WorkerPool("slow-logs", workers=5)
        for _ in range(5):
            pool.submit(_raise, ValueError("logged slowly"))
        for _ in range(5):
            assert entered.acquire(timeout=DEADLOCK)  # every worker is in the handler, its task counted
        started = time.monotonic()
        report = pool.shutdown(0.1)
        elapsed = time.monotonic() - started
        assert report.complete
        # A deadlock detector with room to spare, not a latency claim: the
        # bound is 0.1 s + JOIN_GRACE; the fixed joins took 5 s.
        assert elapsed < 0.1 + pool_module.JOIN_GRACE + 2.0, elapsed
    finally:
        release.set()
        logging.getLogger("dualqueue").removeHandler(handler)


# -- 11. the exit drain's place among other libraries' teardown ------------------

EXIT_SCRIPT = textwrap.dedent(
    """
    import atexit
    import dualqueue
    from dualqueue import WorkerPool
    from dualqueue.stats import PoolStats

    database = {"open": True}
    # A library imported after dualqueue registers its teardown with atexit.
    atexit.register(lambda: database.update(open=False))

    pool = WorkerPool("exit-order", workers=1)
    pool.submit(lambda: [None for _ in iter(lambda: pool.closed, True)])  # until the exit drain begins
    pool.submit(lambda: print("database open" if database["open"] else "database closed", flush=True))
    """
)


def test_11_the_exit_drain_runs_before_libraries_imported_later_are_torn_down() -> None:
    """Before: ``atexit`` ran the database's teardown first; the queued task found it closed."""
    result = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "database open", result.stdout + result.stderr


# -- 12. cancelled timers ------------------------------------------------------------


@pytest.mark.parametrize("clock_class", [FakeClock, SystemClock])
def test_12_cancelled_timers_leave_the_clocks_schedule(clock_class: type) -> None:
    """Before: 100k flushes left 100k cancelled entries (24 MB) in the heap."""
    clock = clock_class()
    debouncer = Debouncer(lambda batch: None, wait=3600, clock=clock)
    for i in range(5_000):
        debouncer.trigger(i)
        debouncer.flush()  # runs inline and cancels the timer the trigger armed
    assert debouncer.snapshot()["delivered"] == 5_000
    assert len(clock._timeline._heap) <= 2 * 64 + 1, len(clock._timeline._heap)


# -- 13. unreferenced pools and clocks --------------------------------------------------


def test_13_an_unreferenced_idle_pool_lets_its_workers_end() -> None:
    """Before: the worker's target was a bound method holding the pool: threads lived forever."""
    pool = WorkerPool("forgotten", workers=2)
    pool.submit(lambda: None)
    assert pool.join(DEADLOCK)
    threads = list(pool._threads)
    del pool
    gc.collect()
    for thread in threads:
        thread.join(DEADLOCK)
    assert not any(thread.is_alive() for thread in threads)


def test_13_an_unreferenced_pool_still_runs_what_was_queued() -> None:
    ran = threading.Event()
    gate = Gate()
    pool = WorkerPool("forgotten-busy", workers=1)
    pool.submit(gate.task)
    pool.submit(ran.set)
    threads = list(pool._threads)
    del pool
    gc.collect()
    gate.open()
    assert ran.wait(DEADLOCK), "a queued task was lost with its pool"
    threads[0].join(DEADLOCK)
    assert not threads[0].is_alive()


def test_13_an_unreferenced_clock_lets_its_thread_end() -> None:
    clock = SystemClock()
    fired = threading.Event()
    clock.call_later(0, fired.set)
    assert fired.wait(DEADLOCK)
    thread = clock._thread
    assert thread is not None
    del clock
    gc.collect()
    thread.join(DEADLOCK)
    assert not thread.is_alive()


# -- 14. a thread that cannot start ------------------------------------------------


def test_14_a_worker_that_cannot_start_fails_the_submit_and_counts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the task stayed queued and counted with no worker; exit waited out its timeout."""

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    pool = WorkerPool("unstartable", workers=2)
    debouncer = Debouncer(lambda batch: None, wait=1, pool=pool, clock=FakeClock())
    with monkeypatch.context() as patch:
        patch.setattr(threading.Thread, "start", refuse)
        with pytest.raises(RuntimeError, match="could not start a worker"):
            pool.submit(print, "never")
        debouncer.trigger("doc")
        assert debouncer.flush()  # refused by the pool: counted as dropped, guard released
    snap = pool.snapshot()
    assert snap["submitted"] == 0 and consistent(snap) and not snap["started"]
    assert debouncer.snapshot()["dropped"] == 1 and not debouncer.running
    pool.submit(lambda: None)  # threads can start again: the pool starts them now
    assert pool.join(DEADLOCK)
    assert pool.shutdown(DEADLOCK).complete


# -- 15. follow-ups without a pool --------------------------------------------------


def test_15_inline_follow_ups_run_in_a_loop_not_by_recursion() -> None:
    """Before: each follow-up ran inside the previous run's ``finally``: RecursionError in ``flush()``."""
    clock = FakeClock()
    count = 3 * sys.getrecursionlimit()
    delivered: list[int] = []

    def run(batch: list[int]) -> None:
        delivered.extend(batch)
        if batch[-1] < count:
            debouncer.trigger(batch[-1] + 1)
            debouncer.flush()  # during the run: becomes its follow-up

    debouncer = Debouncer(run, wait=1.0, clock=clock)
    debouncer.trigger(0)
    assert debouncer.flush()
    assert delivered == list(range(count + 1))
    assert debouncer.snapshot()["state"] == "idle"
