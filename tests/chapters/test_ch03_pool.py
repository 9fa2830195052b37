"""Chapter 3: a pool. Three things chapter 2's worker got wrong, each shown failing
there and fixed here.

* a non-callable was accepted by ``submit`` and failed later, in the worker;
* ``join()`` (``queue.Queue.join``) cannot time out;
* one worker runs one task at a time.
"""

from __future__ import annotations

import inspect
import logging
import threading

import pytest
from chapters.ch02_one_worker import Worker
from chapters.ch03_pool import WorkerPool, demo

from .support import DEADLOCK, IMPOSSIBLE, Gate, unique


# --8<-- [start:verdict]
def refuses_a_non_callable_at_the_caller(runner: Worker | WorkerPool) -> bool:
    """True if ``submit(42)`` raises in the caller; False if it is accepted (and fails
    later, in the worker)."""
    try:
        runner.submit(42)
    except TypeError:
        return True
    done = threading.Event()
    runner.submit(done.set)
    assert done.wait(DEADLOCK)
    return False
    # --8<-- [end:verdict]


def test_chapter_2_accepts_a_non_callable_and_the_worker_finds_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="dualqueue"):
        assert refuses_a_non_callable_at_the_caller(Worker(unique())) is False
    failures = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert len(failures) == 1 and isinstance(failures[0], TypeError), (
        "the worker did not find the bad task"
    )
    assert "not callable" in str(failures[0])


def test_the_pool_refuses_a_non_callable_at_the_caller() -> None:
    assert refuses_a_non_callable_at_the_caller(WorkerPool(unique(), workers=2)) is True


def runs_tasks_side_by_side(
    runner: Worker | WorkerPool, n: int, timeout: float
) -> bool:
    """True if ``n`` tasks can run at the same time: each waits at a Barrier of ``n``
    parties."""
    together = threading.Barrier(n, timeout=timeout)
    passed: list[int] = []
    finished = threading.Semaphore(0)

    def task() -> None:
        try:
            passed.append(together.wait())
        except threading.BrokenBarrierError:
            pass
        finally:
            finished.release()

    for _ in range(n):
        runner.submit(task)
    for _ in range(n):
        assert finished.acquire(timeout=DEADLOCK + n * timeout), "a task never finished"
    return len(passed) == n


def test_one_worker_cannot_run_two_analyses_at_once() -> None:
    # Sound with a short timeout: one thread can never be at the barrier twice.
    assert runs_tasks_side_by_side(Worker(unique()), 2, timeout=IMPOSSIBLE) is False


@pytest.mark.parametrize("workers", [2, 4])
def test_a_pool_of_n_runs_n_analyses_at_once(workers: int) -> None:
    assert (
        runs_tasks_side_by_side(
            WorkerPool(unique(), workers=workers), workers, timeout=DEADLOCK
        )
        is True
    )


# --8<-- [start:join-tests]
def test_queue_join_has_no_timeout_so_chapter_2_cannot_bound_the_wait() -> None:
    assert "timeout" not in inspect.signature(Worker.join).parameters
    worker = Worker(unique())
    gate = Gate()
    worker.submit(gate.task)
    joiner = threading.Thread(target=worker.join, daemon=True)
    joiner.start()
    try:
        assert gate.wait_until_entered(1)
        joiner.join(IMPOSSIBLE)  # sound: join cannot return while the task is blocked
        assert joiner.is_alive(), "join returned while a task was still running"
    finally:
        gate.open()
    joiner.join(DEADLOCK)
    assert not joiner.is_alive()


def test_the_pool_join_returns_false_at_its_timeout_and_true_once_idle() -> None:
    pool = WorkerPool(unique(), workers=2)
    gate = Gate()
    try:
        pool.submit(gate.task)
        assert gate.wait_until_entered(1)
        assert pool.join(timeout=0.01) is False
    finally:
        gate.open()
    assert pool.join(timeout=DEADLOCK) is True
    # --8<-- [end:join-tests]


def test_the_demo_shows_capacity_bad_input_and_a_bounded_join() -> None:
    lines: list[str] = []
    result = demo.main(print=lambda *a: lines.append(" ".join(map(str, a))))
    assert (
        result["join_while_blocked"] is False and result["join_after_release"] is True
    )
    assert sum("refused at the caller" in line for line in lines) == 2
