"""Exercise 1 checks: a worker that survives its tasks' exceptions, logs them, and still lets join() return.

Each check is decided without waiting out a timeout: either the task queued
after the failing one runs, or the worker thread is dead (and then nothing can
ever run it).
"""

from __future__ import annotations

import logging
import threading

import pytest

from exercises.support import DEADLOCK, explain, thread_deaths, wait_for
from exercises.target import load

worker = load("ex01_survive_exceptions", "worker")
Worker = worker.Worker


def boom() -> None:
    raise RuntimeError("SMTP server said 421, try again later")


def leave() -> None:
    raise SystemExit(1)


# --8<-- [start:verdict]
def next_task_runs(w: Worker, failing: object) -> bool:
    """Submit a failing task, then one that sets an Event: True if the second one runs, False if the worker died."""
    ran = threading.Event()
    w.submit(failing)
    w.submit(ran.set)
    assert wait_for(lambda: ran.is_set() or not w.alive), "neither ran nor died within 10 s: a deadlock"
    return ran.is_set() and w.alive
# --8<-- [end:verdict]


@pytest.mark.parametrize("failing", [boom, leave], ids=["RuntimeError", "SystemExit"])
def test_the_task_after_a_failing_task_still_runs(failing: object) -> None:
    w = Worker("survivor")
    with thread_deaths() as deaths:
        survived = next_task_runs(w, failing)
    assert survived, explain(
        expected="the task submitted after the failing one to run, on a live worker thread",
        got=f"the worker thread died of {[type(e).__name__ for e in deaths] or 'its task'}; "
        "the next task waits in the queue forever",
        usually="the exception escaped the loop in _work: wrap the call in try/except BaseException "
        "(SystemExit and KeyboardInterrupt are not Exceptions)",
    )


def test_many_failures_later_the_same_thread_is_still_working() -> None:
    w = Worker("stubborn")
    threads: list[int] = []
    with thread_deaths():
        for _ in range(5):
            w.submit(boom)
            w.submit(lambda: threads.append(threading.get_ident()))
        survived = next_task_runs(w, boom)
    assert survived and len(threads) == 5, explain(
        expected="one worker thread to run all 5 tasks queued between 6 failing ones",
        got=f"{len(threads)} of them ran; the worker is {'alive' if w.alive else 'dead'}",
        usually="the loop survives one failure but not the next, or the thread is being replaced",
    )
    assert w._thread is not None
    assert set(threads) == {w._thread.ident}, explain(
        expected="every task to run on the worker's one thread",
        got=f"{len(set(threads))} different threads ran them",
        usually="a new thread is started when the old one dies: catch the exception instead",
    )


def test_a_failed_task_is_marked_done_so_join_returns() -> None:
    w = Worker("joinable")
    unfinished_when_next_task_ran: list[int] = []
    ran = threading.Event()

    def next_task() -> None:
        # The worker calls task_done() for the failed task before it takes this one.
        unfinished_when_next_task_ran.append(w._queue.unfinished_tasks)
        ran.set()

    with thread_deaths():
        w.submit(boom)
        w.submit(next_task)
        assert wait_for(lambda: ran.is_set() or not w.alive)
    assert ran.is_set(), explain(
        expected="the worker to survive the failing task (check the other tests first)",
        got="the worker thread died",
        usually="the exception escaped the loop in _work",
    )
    assert unfinished_when_next_task_ran == [1], explain(
        expected="1 unfinished task (the running one) once the failed task is over",
        got=f"{unfinished_when_next_task_ran[0]} unfinished: the failed task was never marked done",
        usually="task_done() is only called after a success; call it in a finally: block, "
        "or queue.Queue.join() waits forever",
    )
    joiner = threading.Thread(target=w.join, daemon=True)
    joiner.start()
    joiner.join(DEADLOCK)
    assert not joiner.is_alive(), explain(
        expected="join() to return once both tasks are over",
        got="join() was still waiting after 10 s",
        usually="some task was never marked done with task_done()",
    )


def test_the_failure_is_logged_with_its_traceback_and_the_task_name(caplog: pytest.LogCaptureFixture) -> None:
    w = Worker("logged")
    with caplog.at_level(logging.ERROR, logger="dualqueue"), thread_deaths():
        survived = next_task_runs(w, boom)
    assert survived, explain(
        expected="the worker to survive the failing task (check the other tests first)",
        got="the worker thread died",
        usually="the exception escaped the loop in _work",
    )
    records = [r for r in caplog.records if r.name == "dualqueue" and r.levelno >= logging.ERROR]
    assert records, explain(
        expected="one ERROR record on the 'dualqueue' logger for the failed task",
        got="nothing was logged: the failure was swallowed silently",
        usually="an except block that passes; use logger.exception(...) so the error is seen",
    )
    record = records[0]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError, explain(
        expected="the record to carry the exception and its traceback (exc_info)",
        got=f"a record without the RuntimeError attached: {record.getMessage()!r}",
        usually="logger.error(...) without exc_info; logger.exception(...) attaches it",
    )
    assert "boom" in record.getMessage(), explain(
        expected="the log line to name the task that failed (its function name, 'boom')",
        got=repr(record.getMessage()),
        usually="a message without the task's name: in production nobody can tell which task failed",
    )
