"""The clock, retries and the debouncer's smaller promises."""

from __future__ import annotations

import logging
import threading

import pytest
from dualqueue import Debouncer, FakeClock, PoolClosedError, Retry, SystemClock, TaskSystem, WorkerPool

from .support import DEADLOCK, Gate, boom, wait_for

# -- clocks --------------------------------------------------------------------


def test_the_fake_clock_runs_due_calls_in_order_including_ones_they_schedule() -> None:
    clock = FakeClock(start=100)
    seen: list[tuple[str, float]] = []
    clock.call_later(2, lambda: seen.append(("b", clock.now())))

    def a_then_c() -> None:
        seen.append(("a", clock.now()))
        clock.call_later(0.5, lambda: seen.append(("c", clock.now())))

    clock.call_later(1, a_then_c)
    clock.call_later(2, lambda: seen.append(("b2", clock.now())))
    cancelled = clock.call_later(1.5, lambda: seen.append(("never", 0)))
    cancelled.cancel()
    assert clock.scheduled == 3 and clock.next_due() == 101
    clock.advance(5)
    assert seen == [("a", 101), ("c", 101.5), ("b", 102), ("b2", 102)]
    assert clock.now() == 105 and clock.next_due() is None
    assert clock.wall() == FakeClock().wall() + 5  # wall time moves with the fake clock from wall_start


def test_a_raising_callback_is_logged_and_the_clock_goes_on(caplog) -> None:
    clock = FakeClock()
    seen: list[int] = []
    clock.call_later(1, boom)
    clock.call_later(2, lambda: seen.append(2))
    with caplog.at_level(logging.ERROR, logger="dualqueue"):
        clock.advance(3)
    assert seen == [2] and "scheduled callback raised" in caplog.text


def test_the_system_clock_runs_calls_in_due_order_on_one_thread() -> None:
    clock = SystemClock()
    seen: list[str] = []
    threads: set[int] = set()
    done = threading.Event()

    def mark(name: str):
        def call() -> None:
            seen.append(name)
            threads.add(threading.get_ident())
            if name == "last":
                done.set()
        return call

    clock.call_later(0.05, mark("b"))
    clock.call_later(0.0, mark("a"))
    clock.call_later(0.03, mark("never")).cancel()
    clock.call_later(0.08, boom)
    clock.call_later(0.1, mark("last"))
    assert done.wait(DEADLOCK)
    assert seen == ["a", "b", "last"] and len(threads) == 1
    assert clock.wall() > 1e9 and clock.now() > 0


# -- retries -------------------------------------------------------------------


def test_backoff_grows_exponentially_up_to_the_cap_and_jitter_only_shortens_it() -> None:
    plain = Retry(attempts=10, base_delay=1, factor=2, max_delay=10, jitter=0)
    assert [plain.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    full = Retry(base_delay=4, jitter=1, rng=lambda: 0.25)
    assert full.delay(1) == 3.0
    assert not plain.should_retry(SystemExit(), 1) and plain.should_retry(ValueError(), 9)
    assert not plain.should_retry(ValueError(), 10)


# --8<-- [start:retry-on-the-clock]
def test_a_retry_waits_on_the_clock_without_holding_a_worker_then_succeeds() -> None:
    clock = FakeClock()
    pool = WorkerPool("site", workers=1, clock=clock)
    attempts: list[int] = []

    @Retry(attempts=3, base_delay=30, jitter=0, retry_on=(TimeoutError,))
    def analyse(site: int) -> None:
        attempts.append(site)
        if len(attempts) < 3:
            raise TimeoutError("quota")

    assert analyse.__name__ == "analyse" and "Retrying" in repr(analyse)
    pool.submit(analyse, 7)
    assert wait_for(lambda: pool.snapshot()["retrying"] == 1)
    other = threading.Event()
    pool.submit(other.set)  # the only worker is free while the retry waits
    assert other.wait(DEADLOCK)
    snap = pool.snapshot()
    assert (snap["queued"], snap["running"], snap["retried"]) == (1, 0, 1)
    clock.advance(30)
    assert wait_for(
        lambda: pool.snapshot()["retrying"] == 1 and pool.snapshot()["retried"] == 2
    )
    clock.advance(60)
    assert pool.join(DEADLOCK)
    snap = pool.snapshot()
    assert attempts == [7, 7, 7] and (
        snap["succeeded"],
        snap["failed"],
        snap["retried"],
    ) == (2, 0, 2)
    # --8<-- [end:retry-on-the-clock]


def test_a_task_that_fails_for_the_last_time_becomes_a_dead_letter_in_a_bounded_ring() -> None:
    clock = FakeClock()
    pool = WorkerPool("site", workers=1, clock=clock, dead_letters=2)
    flaky = Retry(attempts=2, base_delay=1, jitter=0)(boom)
    for _ in range(3):
        pool.submit(flaky)
    assert wait_for(lambda: pool.snapshot()["retrying"] == 3)
    clock.advance(1)
    assert pool.join(DEADLOCK)
    snap = pool.snapshot()
    assert snap["failed"] == 3 and len(snap["dead_letters"]) == 2
    letter = snap["dead_letters"][0]
    assert (letter["task"], letter["attempts"], letter["error_type"], letter["message"]) == (
        "tests.core.support.boom", 2, "RuntimeError", "boom",
    )


def test_shutdown_drops_and_names_tasks_waiting_for_a_retry() -> None:
    clock = FakeClock()
    pool = WorkerPool("site", workers=1, clock=clock)
    pool.submit(Retry(base_delay=60)(boom))
    assert wait_for(lambda: pool.snapshot()["retrying"] == 1)
    report = pool.shutdown(timeout=0.05)
    assert report.queued == 1 and report.dropped == ("tests.core.support.boom",)
    assert clock.scheduled == 0, "the retry's timer was not cancelled"
    clock.advance(120)
    snap = pool.snapshot()
    assert (snap["dropped"], snap["queued"], snap["submitted"]) == (1, 0, 1)


# -- debouncer ----------------------------------------------------------------


def test_flush_runs_now_and_cancel_drops_and_counts() -> None:
    clock = FakeClock()
    runs: list[list[str]] = []
    debouncer = Debouncer(runs.append, wait=15, clock=clock)
    assert not debouncer.flush()
    debouncer.trigger("a")
    debouncer.trigger()  # no item, still a trigger
    assert debouncer.pending and debouncer.flush()
    assert runs == [["a"]] and not debouncer.pending
    debouncer.trigger("b")
    debouncer.trigger("c")
    assert debouncer.cancel() == 2 and not debouncer.pending
    clock.advance(60)
    snap = debouncer.snapshot()
    assert runs == [["a"]] and (snap["dropped"], snap["runs"], snap["triggers"], snap["delivered"]) == (2, 1, 4, 1)
    assert "wait=15.0" in repr(debouncer)


def test_a_failing_run_is_counted_and_the_guard_is_released() -> None:
    clock = FakeClock()
    debouncer = Debouncer(lambda batch: boom(), wait=1, clock=clock)
    debouncer.trigger(1)
    clock.advance(1)
    debouncer.trigger(2)
    clock.advance(1)
    snap = debouncer.snapshot()
    assert (snap["runs"], snap["failed_runs"], snap["running"], snap["delivered"]) == (2, 2, False, 2)
    assert snap["last_error"]["type"] == "RuntimeError" and snap["last_run_at"]


def test_a_run_refused_by_a_closed_pool_counts_its_items_as_dropped() -> None:
    clock = FakeClock()
    pool = WorkerPool("index", workers=1, clock=clock)
    debouncer = Debouncer(print, wait=1, pool=pool, clock=clock)
    debouncer.trigger("a")
    debouncer.trigger("b")
    pool.shutdown(timeout=0)
    clock.advance(1)
    snap = debouncer.snapshot()
    assert (snap["dropped"], snap["running"], snap["pending"]) == (2, False, False)
    assert snap["last_error"]["type"] == "dualqueue.errors.PoolClosedError"


def test_flush_during_a_run_becomes_its_follow_up_and_close_refuses_triggers() -> None:
    clock = FakeClock()
    pool = WorkerPool("index", workers=2, clock=clock)
    gate = Gate()
    batches: list[list[int]] = []

    def rebuild(batch: list[int]) -> None:
        if not batches:
            batches.append([])
            gate.task()
        batches.append(batch)

    debouncer = Debouncer(rebuild, wait=10, pool=pool, clock=clock)
    debouncer.trigger(1)
    assert debouncer.flush() and gate.wait_until_entered(1)
    assert debouncer.running and debouncer.snapshot()["running_seconds"] == 0
    debouncer.trigger(2)
    assert debouncer.flush()  # queued as the follow-up
    gate.open()
    assert wait_for(lambda: not debouncer.running and not debouncer.pending)
    assert pool.join(DEADLOCK)
    assert batches == [[], [1], [2]]
    debouncer.close()
    with pytest.raises(PoolClosedError):
        debouncer.trigger(3)


def test_a_system_debouncer_without_a_pool_runs_inline_on_the_clock() -> None:
    clock = FakeClock()
    tasks = TaskSystem(clock=clock)
    seen: list[list[int]] = []
    debouncer = tasks.debouncer("quick", seen.append, wait=2, max_wait=3, pool=None)
    for i in range(5):
        debouncer.trigger(i)
        clock.advance(1)
    assert seen == [[0, 1, 2]]
    assert debouncer.snapshot()["pool"] is None


class FirstRunBlocks:
    """A debounced callback whose first run blocks until the test opens the gate; every run is recorded."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.gate = Gate()
        self.runs: list[tuple[float, list[int]]] = []

    def __call__(self, batch: list[int]) -> None:
        self.runs.append((self.clock.now(), batch))
        if len(self.runs) == 1:
            self.gate.task()


InFlight = tuple[FakeClock, Debouncer, FirstRunBlocks, WorkerPool]


def run_in_flight(wait: float, max_wait: float | None = None) -> InFlight:
    """A debouncer whose first run (batch [0], started at t=wait) is in flight on a pool worker."""
    clock = FakeClock()
    pool = WorkerPool("debounced", workers=1, clock=clock)
    record = FirstRunBlocks(clock)
    debouncer = Debouncer(record, wait=wait, max_wait=max_wait, pool=pool, clock=clock)
    debouncer.trigger(0)
    clock.advance(wait)
    assert record.gate.wait_until_entered(1)
    return clock, debouncer, record, pool


def test_a_trigger_after_the_window_elapsed_during_a_run_restarts_the_window() -> None:
    clock, debouncer, record, pool = run_in_flight(wait=10)
    debouncer.trigger(1)  # t=10, during the run
    clock.advance(10)  # t=20: the batch falls due while the first run is still in flight
    clock.advance(5)
    debouncer.trigger(2)  # t=25: restarts the quiet window, so [1, 2] is due at 35
    record.gate.open()
    assert pool.join(DEADLOCK)
    assert record.runs == [(10, [0])], "the follow-up ran before its quiet window ended"
    clock.advance(10)
    assert pool.join(DEADLOCK)
    assert record.runs == [(10, [0]), (35, [1, 2])]
    pool.shutdown(DEADLOCK)


def test_a_trigger_after_max_wait_elapsed_during_a_run_is_accepted_and_runs_right_after() -> None:
    clock, debouncer, record, pool = run_in_flight(wait=10, max_wait=20)
    clock.advance(1)
    debouncer.trigger(1)  # t=11: due at min(21, 11 + 20) = 21
    clock.advance(29)  # t=40: past max_wait for item 1, and the run is still in flight
    debouncer.trigger(2)  # must not fail, and must not postpone a batch already past max_wait
    record.gate.open()
    assert wait_for(lambda: len(record.runs) == 2)
    assert pool.join(DEADLOCK)
    assert record.runs == [(10, [0]), (40, [1, 2])]
    pool.shutdown(DEADLOCK)


def test_a_flush_during_a_run_is_not_postponed_by_later_triggers() -> None:
    _, debouncer, record, pool = run_in_flight(wait=10)
    debouncer.trigger(1)
    assert debouncer.flush()  # during the run: the follow-up starts as soon as it ends
    debouncer.trigger(2)
    record.gate.open()
    assert wait_for(lambda: len(record.runs) == 2)
    assert record.runs == [(10, [0]), (10, [1, 2])]
    pool.shutdown(DEADLOCK)
