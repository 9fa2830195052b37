"""Chapter 8 demo: a worker killed in silence by sys.exit(), then retries.

Retries wait on the clock, and the tasks that give up become dead letters.

    python -m chapters.ch08_failures_and_retries.demo

Every number printed is measured on this run. Backoff delays run on a
``FakeClock``: the demo moves it, so a minute of backoff takes no time.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import random
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .clock import FakeClock
from .naive import ExceptionOnlyPool, InPlaceRetry
from .pool import WorkerPool
from .retry import Retry


def legacy_export(site_id: int) -> None:
    """A command-line script's main(), reused as a task: it exits on a missing
    setting."""
    sys.exit(1)


class SMTPDown:
    """An email task whose SMTP server refuses the first ``failures`` attempts;
    records when each attempt ran."""

    def __init__(self, clock: FakeClock, failures: int) -> None:
        self.clock, self.failures, self.attempts = clock, failures, []

    def __call__(self, user_id: int) -> None:
        self.attempts.append(self.clock.now())
        if len(self.attempts) <= self.failures:
            raise ConnectionRefusedError(111, "Connection refused")


@contextlib.contextmanager
def default_thread_hook_and_stderr() -> Iterator[io.StringIO]:
    """Run with Python's own ``threading.excepthook`` and capture what it writes to
    stderr."""
    hook, stderr = threading.excepthook, sys.stderr
    threading.excepthook, sys.stderr = threading.__excepthook__, io.StringIO()
    try:
        yield sys.stderr  # type: ignore[misc]
    finally:
        threading.excepthook, sys.stderr = hook, stderr


def sys_exit_in_a_task(
    pool_class: type[WorkerPool], print: Callable[..., None]
) -> dict[str, Any]:
    pool = pool_class(f"general-{pool_class.__name__}", workers=2)
    email_sent = threading.Event()
    with default_thread_hook_and_stderr() as stderr:
        pool.submit(legacy_export, 1)
        pool.submit(legacy_export, 2)
        pool.submit(email_sent.set)
        sent = email_sent.wait(timeout=0.5)
        for thread in (
            pool._threads
        ):  # the dead ones are already gone; the live ones do not block this
            thread.join(timeout=0.05)
    s = pool.snapshot()
    print(
        f"{pool_class.__name__}: two tasks call sys.exit(1), then a password-reset "
        "email is queued"
    )
    print(
        f"  alive_workers {s['alive_workers']} of {s['workers']}, running "
        f"{s['running']}, "
        f"failed {s['failed']}, email sent: {sent}, written to stderr: "
        f"{stderr.getvalue()!r}"
    )
    if s["last_error"]:
        print(
            "  last_error: "
            f"{json.dumps({k: s['last_error'][k] for k in ('type', 'message')})}"
        )
    return {"alive": s["alive_workers"], "running": s["running"], "email_sent": sent}


def settle(pool: WorkerPool, clock: FakeClock) -> list[dict[str, Any]]:
    """Run a pool's retries to the end, jumping to a retry's due time when nothing runs.

    Returns the snapshots taken while a retry was waiting.
    """
    waiting = []
    while not pool.join(timeout=0.01):
        s = pool.snapshot()
        due = clock.next_due()
        if (
            s["retrying"]
            and not s["running"]
            and not (s["queued"] - s["retrying"])
            and due is not None
        ):
            waiting.append(s)
            clock.advance(due - clock.now())
    return waiting


def reset_runs_while_two_emails_back_off(retry: Callable[..., Any]) -> bool:
    """general=2; two emails fail and back off for 60 s: does a third email run
    meanwhile?"""
    clock = FakeClock()
    pool = WorkerPool("general", workers=2, clock=clock)
    down = SMTPDown(clock, failures=2)  # both first attempts fail
    policy = (
        InPlaceRetry(attempts=2, base_delay=60, clock=clock)
        if retry is InPlaceRetry
        else Retry(attempts=2, base_delay=60)
    )
    reset_sent = threading.Event()
    pool.submit(policy(down), 1)
    pool.submit(policy(down), 2)
    while len(down.attempts) < 2:  # both first attempts have failed
        threading.Event().wait(0.001)
    pool.submit(reset_sent.set)
    sent = reset_sent.wait(
        timeout=0.5
    )  # sound: with both workers asleep, it cannot run
    while not pool.join(timeout=0.01):
        clock.advance(
            60
        )  # wake whatever waits for its backoff, on the clock or on a worker
    return sent


def main(print: Callable[..., None] = print) -> dict[str, Any]:
    result: dict[str, Any] = {}
    logger = logging.getLogger("dualqueue")
    propagate, logger.propagate = logger.propagate, False
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = (  # type: ignore[method-assign]
        lambda record: lines.append(record.getMessage())
    )
    logger.addHandler(handler)
    try:
        for pool_class in (ExceptionOnlyPool, WorkerPool):
            lines.clear()
            result[pool_class.__name__] = sys_exit_in_a_task(pool_class, print)
            print(
                f"  logged: {len(lines)} line(s)"
                + (f", the first: {lines[0]}" if lines else "")
            )

        clock = FakeClock()
        pool = WorkerPool("general", workers=2, clock=clock)
        down = SMTPDown(clock, failures=3)
        policy = Retry(
            attempts=5, base_delay=2, factor=2, jitter=0.5, rng=random.Random(7).random
        )
        pool.submit(policy(down), 4242)
        waiting = settle(pool, clock)[0]
        end = pool.snapshot()
        print(f"an email whose SMTP server refuses 3 times, {policy!r}:")
        print(
            f"  attempts at {[round(t, 2) for t in down.attempts]} s (backoff 2, 4, 8 "
            "s, each shortened by jitter)"
        )
        print(
            f"  while it waited: queued {waiting['queued']}, retrying "
            f"{waiting['retrying']}, "
            f"running {waiting['running']}; at the end: submitted {end['submitted']}, "
            f"succeeded {end['succeeded']}, failed {end['failed']}, retried "
            f"{end['retried']}"
        )
        result["attempts"] = down.attempts
        result["waiting"] = waiting

        for retry in (InPlaceRetry, Retry):
            sent = reset_runs_while_two_emails_back_off(retry)
            print(
                f"{retry.__name__}: two emails back off for 60 s on general=2; a third "
                f"email ran meanwhile: {sent}"
            )
            result[f"reset_sent_{retry.__name__}"] = sent

        clock = FakeClock()
        pool = WorkerPool("site", workers=2, clock=clock, dead_letters=3)
        gone = SMTPDown(clock, failures=100)
        pool.submit(Retry(attempts=3, base_delay=5, jitter=0)(gone), 99)
        settle(pool, clock)
        letters = pool.snapshot()["dead_letters"]
        print(
            f"a task that fails all 3 attempts is a dead letter: {json.dumps(letters)}"
        )
        result["dead_letters"] = letters
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    return result


if __name__ == "__main__":
    from chapters.page import page_print  # lines that fit the page

    main(print=page_print)
