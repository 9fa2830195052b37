"""Exercise 1 checks: a worker that survives its tasks' exceptions, logs them, and still
lets join() return.

Each check is decided without waiting out a timeout: either the task queued
after the failing one runs, or the worker thread is dead (and then nothing can
ever run it).
"""

from __future__ import annotations

import functools
import logging
import threading

import pytest

from exercises.support import DEADLOCK, Gate, explain, thread_deaths, wait_for
from exercises.target import load

worker = load("ex01_survive_exceptions", "worker")
Worker = worker.Worker


def boom() -> None:
    raise RuntimeError("SMTP server said 421, try again later")


def leave() -> None:
    raise SystemExit(1)


def refuse(address: str) -> None:
    raise ConnectionRefusedError(f"{address} refused the connection")


class SendDigest:
    """A callable object, as a task: it has no __name__ (nor __qualname__) of its
    own."""

    def __call__(self) -> None:
        raise TimeoutError("digest service timed out")


def what_killed(deaths: list[BaseException]) -> tuple[str, str]:
    """(what happened, what it usually means), from the exceptions that ended the worker
    thread."""
    generic = (
        "the exception escaped the loop in _work: wrap the call in try/except "
        "BaseException (SystemExit and KeyboardInterrupt are not Exceptions)"
    )
    if not deaths:
        return "the worker thread died of its task", generic
    death = deaths[0]
    got = f"the worker thread died of {type(death).__name__}: {death}"
    if isinstance(death, AttributeError) and "__name__" in str(death) + str(
        getattr(death, "name", "")
    ):
        return got + ", raised inside the except block", (
            "the except block asks the task for its __name__, which a "
            "functools.partial or a callable object does not have: the handler itself "
            "raised, and killed the worker it was protecting. Find the name in a way "
            "that works for every callable"
        )
    if isinstance(death, ValueError) and "task_done" in str(death):
        return (
            got,
            "task_done() is called twice for one task (say in the except block and "
            "again after it): mark each task done exactly once, whichever way it ended",
        )
    if isinstance(death, (SystemExit, KeyboardInterrupt)):
        return (
            got,
            f"except Exception does not catch {type(death).__name__}, which derives "
            "from BaseException only: catch BaseException",
        )
    return got, generic


# --8<-- [start:verdict]
def next_task_runs(w: Worker, failing: object) -> bool:
    """Submit a failing task, then one that sets an Event: True if the second one runs,
    False if the worker died."""
    ran = threading.Event()
    w.submit(failing)
    w.submit(ran.set)
    assert wait_for(lambda: ran.is_set() or not w.alive), (
        "neither ran nor died within 10 s: a deadlock"
    )
    return ran.is_set() and w.alive
# --8<-- [end:verdict]


@pytest.mark.parametrize(
    "failing",
    [boom, leave, functools.partial(refuse, "smtp.example.org"), SendDigest()],
    ids=["RuntimeError", "SystemExit", "partial", "callable-object"],
)
def test_the_task_after_a_failing_task_still_runs(failing: object) -> None:
    w = Worker("survivor")
    with thread_deaths() as deaths:
        survived = next_task_runs(w, failing)
    got, usually = what_killed(deaths)
    assert survived, explain(
        expected=f"the task submitted after the failing {type(failing).__name__} to "
        "run, on a live worker thread",
        got=f"{got}; the next task waits in the queue forever",
        usually=usually,
    )


def test_many_failures_later_the_same_thread_is_still_working() -> None:
    w = Worker("stubborn")
    threads: list[int] = []
    with thread_deaths() as deaths:
        for _ in range(5):
            w.submit(boom)
            w.submit(lambda: threads.append(threading.get_ident()))
        survived = next_task_runs(w, boom)
    assert survived and len(threads) == 5, explain(
        expected="one worker thread to run all 5 tasks queued between 6 failing ones",
        got=f"{len(threads)} of them ran; the worker is "
        f"{'alive' if w.alive else 'dead'}",
        usually=what_killed(deaths)[1]
        if deaths
        else "the loop survives one failure but not the next, or the thread is being "
        "replaced",
    )
    assert w._thread is not None
    assert set(threads) == {w._thread.ident}, explain(
        expected="every task to run on the worker's one thread",
        got=f"{len(set(threads))} different threads ran them",
        usually="a new thread is started when the old one dies: catch the exception "
        "instead",
    )


def test_a_failed_task_is_marked_done_so_join_returns() -> None:
    w = Worker("joinable")
    unfinished_when_next_task_ran: list[int] = []
    ran = threading.Event()

    def next_task() -> None:
        # The worker calls task_done() for the failed task before it takes this one.
        unfinished_when_next_task_ran.append(w._queue.unfinished_tasks)
        ran.set()

    with thread_deaths() as deaths:
        w.submit(boom)
        w.submit(next_task)
        assert wait_for(lambda: ran.is_set() or not w.alive)
    assert ran.is_set(), explain(
        expected="the worker to survive the failing task (check the other tests first)",
        got=what_killed(deaths)[0],
        usually=what_killed(deaths)[1],
    )
    unfinished = unfinished_when_next_task_ran[0]
    assert unfinished == 1, explain(
        expected="1 unfinished task (the running one) once the failed task is over",
        got=f"{unfinished} unfinished: the failed task was never marked done"
        if unfinished > 1
        else "0 unfinished while a task was running: it was marked done before it "
        "finished",
        usually="task_done() is only called after a success; call it in a finally: "
        "block, or queue.Queue.join() waits forever"
        if unfinished > 1
        else "task_done() is called too early, before the task has run: join() would "
        "return while tasks are still running. Call it once the task is over",
    )
    joiner = threading.Thread(target=w.join, daemon=True)
    joiner.start()
    joiner.join(DEADLOCK)
    assert not joiner.is_alive(), explain(
        expected="join() to return once both tasks are over",
        got=f"join() was still waiting after {DEADLOCK:g} s",
        usually="some task was never marked done with task_done()",
    )


def test_the_failure_is_logged_with_its_traceback_and_the_task_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    w = Worker("logged")
    with caplog.at_level(logging.ERROR, logger="dualqueue"), thread_deaths():
        survived = next_task_runs(w, boom)
    assert survived, explain(
        expected="the worker to survive the failing task (check the other tests first)",
        got="the worker thread died",
        usually="the exception escaped the loop in _work",
    )
    records = [
        r
        for r in caplog.records
        if r.name == "dualqueue" and r.levelno >= logging.ERROR
    ]
    assert records, explain(
        expected="one ERROR record on the 'dualqueue' logger for the failed task",
        got="nothing was logged: the failure was swallowed silently",
        usually="an except block that passes; use logger.exception(...) so the error "
        "is seen",
    )
    record = records[0]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError, explain(
        expected="the record to carry the exception and its traceback (exc_info)",
        got=f"a record without the RuntimeError attached: {record.getMessage()!r}",
        usually="logger.error(...) without exc_info; logger.exception(...) attaches it",
    )
    assert "boom" in record.getMessage(), explain(
        expected="the log line to name the task that failed (its function name, "
        "'boom')",
        got=repr(record.getMessage()),
        usually="a message without the task's name: in production nobody can tell "
        "which task failed",
    )


def test_the_failure_is_logged_before_the_task_is_marked_done(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A test (or a shutdown) that joins and then reads the log must find the failure
    # there: so the failure must be logged while its task still counts as unfinished. A
    # handler looks at that moment.
    w = Worker("in-order")
    unfinished_at_log: list[int] = []

    class Look(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            unfinished_at_log.append(w._queue.unfinished_tasks)

    look = Look(logging.ERROR)
    logging.getLogger("dualqueue").addHandler(look)
    try:
        with caplog.at_level(logging.ERROR, logger="dualqueue"), thread_deaths():
            gate, ran = Gate(), threading.Event()
            w.submit(gate.task)  # holds the worker until both tasks below are queued
            assert gate.wait_until_entered(1)
            w.submit(boom)
            # once it has run, the failure before it is logged, or never will be
            w.submit(ran.set)
            gate.open()
            wait_for(lambda: ran.is_set() or not w.alive)
    finally:
        logging.getLogger("dualqueue").removeHandler(look)
    assert ran.is_set() and w.alive and unfinished_at_log, explain(
        expected="the failing task to be logged, and the worker to go on (check the "
        "other tests first)",
        got=f"logged {len(unfinished_at_log)} time(s); the worker is "
        f"{'alive' if w.alive else 'dead'}",
        usually="the exception escaped the loop in _work, or it was swallowed without "
        "a log",
    )
    assert unfinished_at_log[0] == 2, explain(
        expected="the failure to be logged while its task still counts as unfinished "
        "(2 unfinished: it and the task queued after it)",
        got=f"{unfinished_at_log[0]} unfinished when it was logged: the failed task "
        "was already marked done",
        usually="task_done() is called before logger.exception(...): a join() that "
        "returns in between finds no log of the failure yet. Log first, then mark the "
        "task done (a finally: block runs last)",
    )
