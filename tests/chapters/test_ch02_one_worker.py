"""Chapter 2: one worker thread. The naive loop dies on the first exception; the fixed
one goes on.

The broken loop is ``NaiveWorker``; the same verdict function runs against it
(must say False) and against ``Worker`` (must say True), so the check is shown
able to fail.
"""

from __future__ import annotations

import re
import threading

from chapters.ch02_one_worker import NaiveWorker, Worker, demo

from .support import DEADLOCK, Gate, boom, thread_deaths, unique, wait_for


# --8<-- [start:verdict]
def survives_a_raising_task(worker: Worker) -> bool:
    """Submit a task that raises, then one that sets an Event: True if the second one
    runs.

    Decided without a timeout: either the second task runs, or the worker thread
    is dead (and then nothing can ever run it).
    """
    ran = threading.Event()
    worker.submit(boom)
    worker.submit(ran.set)
    assert wait_for(lambda: ran.is_set() or not worker.alive), (
        "neither ran nor died: a deadlock"
    )
    return ran.is_set() and worker.alive
    # --8<-- [end:verdict]


# --8<-- [start:tests]
def test_the_worker_survives_a_raising_task() -> None:
    assert survives_a_raising_task(Worker(unique())) is True


def test_the_naive_loop_dies_on_the_first_exception_and_only_stderr_knows() -> None:
    with thread_deaths() as deaths:
        assert survives_a_raising_task(NaiveWorker(unique())) is False
    assert [type(e) for e in deaths] == [RuntimeError], (
        "the exception that killed the worker went unreported"
    )
    # --8<-- [end:tests]


def test_the_naive_loop_leaves_tasks_unfinished_so_join_never_returns() -> None:
    worker = NaiveWorker(unique())
    with thread_deaths():
        worker.submit(boom)
        worker.submit(lambda: None)
        assert worker._thread is not None
        worker._thread.join(DEADLOCK)
        assert not worker.alive
    # queue.Queue.join() waits for this to reach 0; no thread is left to get it there.
    assert worker._queue.unfinished_tasks == 2


def test_the_fixed_worker_marks_a_failed_task_done_so_join_returns() -> None:
    worker = Worker(unique())
    worker.submit(boom)
    joiner = threading.Thread(target=worker.join, daemon=True)
    joiner.start()
    joiner.join(DEADLOCK)
    assert not joiner.is_alive(), "join() never returned after a task raised"
    assert worker._queue.unfinished_tasks == 0


def test_one_worker_runs_every_task_on_one_thread_however_many_requests_come() -> None:
    # Chapter 1's thread per request ran forty threads for forty requests; here one
    # thread runs them all.
    worker = Worker(unique())
    threads: set[int] = set()
    for _ in range(40):
        worker.submit(lambda: threads.add(threading.get_ident()))
    worker.join()
    assert len(threads) == 1


def test_with_one_worker_an_email_waits_behind_a_running_analysis() -> None:
    # The limit chapter 3 removes: one worker, one task at a time, in order.
    worker = Worker(unique())
    gate = Gate()
    order: list[str] = []
    sent = threading.Event()
    try:
        worker.submit(lambda: (gate.task(), order.append("analysis")))
        worker.submit(lambda: (order.append("email"), sent.set()))
        assert gate.wait_until_entered(1)
        assert not sent.is_set()  # the only thread is inside the analysis
    finally:
        gate.open()
    assert sent.wait(DEADLOCK)
    assert order == ["analysis", "email"]


def test_the_demo_shows_the_naive_worker_dying_and_the_fixed_one_going_on() -> None:
    lines: list[str] = []
    result = demo.main(print=lambda *a: lines.append(" ".join(map(str, a))))
    assert result["created"] == 0
    assert result["next_task_ran"] == {"NaiveWorker": False, "Worker": True}
    assert any(re.search(r"died:\s+RuntimeError", line) for line in lines), (
        "the naive worker's death was not shown"
    )
    assert any(line.startswith("  logged: dualqueue: task") for line in lines), (
        "the fixed worker did not log"
    )
