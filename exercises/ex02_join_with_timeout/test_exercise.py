"""Exercise 2 checks: join(timeout) says True only when every task has finished, and False at its deadline.

The tasks block on a gate the test controls, so "a task is still running" is a
fact, not a guess about timing. The short timeouts given to join() are the
thing under test (join must give up); the long ones only detect a deadlock.
"""

from __future__ import annotations

import threading

from exercises.support import DEADLOCK, Gate, explain
from exercises.target import load

pool = load("ex02_join_with_timeout", "pool")
WorkerPool = pool.WorkerPool


def boom() -> None:
    raise RuntimeError("boom")


# --8<-- [start:running]
def test_join_says_false_while_the_last_task_is_still_running() -> None:
    p = WorkerPool("joiner", workers=1)
    gate = Gate()
    try:
        p.submit(gate.task)
        assert gate.wait_until_entered(1)
        # The queue is empty now: its only task was taken. It is not finished.
        finished = p.join(timeout=0.05)
    finally:
        gate.open()
    assert finished is False, explain(
        expected="join(timeout=0.05) -> False: a task was still running when the timeout passed",
        got=f"join returned {finished!r}",
        usually="join() looks at the queue, which is empty as soon as the last task is taken, not when it is "
        "finished. Count unfinished tasks (+1 at submit, -1 when a task is over) and wait for zero",
    )
# --8<-- [end:running]


def test_join_says_false_while_tasks_are_still_queued() -> None:
    p = WorkerPool("queued", workers=1)
    gate = Gate()
    try:
        p.submit(gate.task)
        assert gate.wait_until_entered(1)
        for _ in range(3):
            p.submit(lambda: None)
        finished = p.join(timeout=0.05)
    finally:
        gate.open()
    assert finished is False, explain(
        expected="join(timeout=0.05) -> False while one task runs and three wait",
        got=f"join returned {finished!r}",
        usually="join() does not count the tasks that are waiting in the queue",
    )


def test_when_join_says_true_every_task_has_finished() -> None:
    p = WorkerPool("finisher", workers=2)
    gate = Gate()
    done: list[int] = []
    lock = threading.Lock()

    def task(n: int) -> None:
        gate.task()
        with lock:
            done.append(n)

    for n in range(6):
        p.submit(task, n)
    assert gate.wait_until_entered(2)
    gate.open()
    finished = p.join(timeout=DEADLOCK)
    with lock:
        count = len(done)
    assert finished is True and count == 6, explain(
        expected="join() -> True, and all 6 tasks finished by the time it returned",
        got=f"join returned {finished!r} with {count} of 6 finished",
        usually="join() returns as soon as the queue is empty, while the last tasks are still running; "
        "or the count of unfinished tasks is decremented before the task has run",
    )


def test_a_failed_task_counts_as_finished() -> None:
    p = WorkerPool("failing", workers=1)
    p.submit(boom)
    p.submit(boom)
    finished = p.join(timeout=DEADLOCK)
    assert finished is True, explain(
        expected="join() -> True once both failing tasks are over",
        got=f"join returned {finished!r} after 10 s",
        usually="the unfinished count is only decremented after a success; do it in the finally: block",
    )


def test_join_on_an_idle_pool_returns_true_at_once() -> None:
    p = WorkerPool("idle", workers=2)
    assert p.join(timeout=0) is True, explain(
        expected="join(timeout=0) -> True on a pool that was never given a task",
        got="False",
        usually="the unfinished count does not start at 0, or join() waits before checking",
    )


def test_a_join_without_timeout_wakes_up_when_the_work_is_done() -> None:
    p = WorkerPool("sleeper", workers=1)
    gate = Gate()
    p.submit(gate.task)
    assert gate.wait_until_entered(1)
    results: list[bool] = []
    joiner = threading.Thread(target=lambda: results.append(p.join()), daemon=True)
    joiner.start()
    gate.open()
    joiner.join(DEADLOCK)
    assert results == [True], explain(
        expected="join() (no timeout) to return True once the running task finished",
        got="it was still waiting 10 s after the task finished" if not results else f"it returned {results[0]!r}",
        usually="the worker never notifies the condition join() waits on when the count reaches zero",
    )
