"""Chapter 2 demo: one worker thread, lazily started; the naive loop dies, the fixed one
goes on.

    python -m chapters.ch02_one_worker.demo

Every number printed is measured on this run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .naive import NaiveWorker
from .worker import Worker


def fail() -> None:
    raise RuntimeError("SMTP server said 421, try again later")


class PrintHandler(logging.Handler):
    """Shows the worker's log lines in the demo's output, without their tracebacks."""

    def __init__(self, print: Callable[..., None]) -> None:
        super().__init__()
        self.print = print

    def emit(self, record: logging.LogRecord) -> None:
        self.print(f"  logged: {record.getMessage()}")


def main(print: Callable[..., None] = print) -> dict[str, Any]:
    handler = PrintHandler(print)
    logger = logging.getLogger("dualqueue")
    logger.addHandler(handler)
    hook = threading.excepthook
    threading.excepthook = lambda args: print(
        f"  thread {args.thread.name} died:\n    {args.exc_value!r}"
    )
    try:
        return run(print)
    finally:
        threading.excepthook = hook
        logger.removeHandler(handler)


def run(print: Callable[..., None]) -> dict[str, Any]:
    before = threading.active_count()
    worker = Worker("email")
    created = threading.active_count() - before
    started = time.perf_counter()
    worker.submit(time.sleep, 0.2)  # the password-reset email
    answered = time.perf_counter() - started
    print(
        f"lazy start: creating the worker started {created} thread(s);"
        " the first submit started 1"
    )
    print(
        f"the request queued the 0.2 s email and answered in {answered * 1000:.2f} ms"
    )
    worker.join()

    verdicts = {}
    for cls in (NaiveWorker, Worker):
        w = cls(cls.__name__.lower())
        ran = threading.Event()
        print(f"{cls.__name__}: a task raises, then another task is queued")
        w.submit(fail)
        w.submit(ran.set)
        if cls is NaiveWorker:
            assert w._thread is not None
            w._thread.join()  # it dies for certain: nothing catches the exception
        else:
            w.join()  # returns: the failed task was marked done too
        unfinished = w._queue.unfinished_tasks
        print(
            f"  next task ran: {ran.is_set()}; worker alive: {w.alive}; "
            f"unfinished tasks: {unfinished}"
            + ("\n  (so join() would block forever)" if unfinished else "")
        )
        verdicts[cls.__name__] = ran.is_set()

    # One worker means one task at a time: an email waits behind an analysis.
    single = Worker("everything")
    email_started = threading.Event()
    t0 = time.perf_counter()
    single.submit(time.sleep, 0.5)  # a (short) site analysis
    single.submit(email_started.set)  # then a password-reset email
    email_started.wait(timeout=5)
    waited = time.perf_counter() - t0
    print(
        "one worker: the email queued behind a 0.5 s analysis started after "
        f"{waited:.2f} s"
    )
    return {
        "created": created,
        "answered": answered,
        "next_task_ran": verdicts,
        "email_waited": waited,
    }


if __name__ == "__main__":
    main()
