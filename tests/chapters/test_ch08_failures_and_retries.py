"""Chapter 8: failures and retries. Each first attempt shown failing, and the same check
passing on the fix.

* ``ExceptionOnlyPool`` catches ``Exception``: a task calling ``sys.exit()``
  kills its worker, in silence (nothing logged, nothing on stderr);
* ``InPlaceRetry`` sleeps between attempts on the worker thread: two emails
  backing off hold both general workers, and a third email cannot run.
"""

from __future__ import annotations

import doctest
import io
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

import chapters.ch08_failures_and_retries
import pytest
from chapters.ch08_failures_and_retries import (
    ExceptionOnlyPool,
    FakeClock,
    InPlaceRetry,
    Retry,
    WorkerPool,
    demo,
)

from .support import DEADLOCK, IMPOSSIBLE, unique, wait_for


def legacy_export(site_id: int) -> None:
    """A command-line script's main(), reused as a task."""
    sys.exit(1)


# --8<-- [start:silent-death]
def after_two_tasks_call_sys_exit(
    pool: WorkerPool, wait_for_email: float
) -> dict[str, Any]:
    """Two tasks call sys.exit(1) on a two-worker pool, then an email is queued: what is
    left, and who was told?"""
    email_sent = threading.Event()
    stderr, hook = io.StringIO(), threading.excepthook
    # Python's own: what production runs with
    threading.excepthook = threading.__excepthook__
    real_stderr, sys.stderr = sys.stderr, stderr
    try:
        pool.submit(legacy_export, 1)
        pool.submit(legacy_export, 2)
        pool.submit(email_sent.set)
        sent = email_sent.wait(wait_for_email)
        assert wait_for(lambda: pool.snapshot()["alive_workers"] in (0, 2)), (
            "one worker died and one did not"
        )
    finally:
        sys.stderr, threading.excepthook = real_stderr, hook
    return {"email_sent": sent, "stderr": stderr.getvalue(), **pool.snapshot()}


def test_an_exception_only_worker_dies_of_sys_exit_and_nobody_is_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="dualqueue"):
        # Sound with a short wait: both workers are dead, so nothing can ever send the
        # email.
        after = after_two_tasks_call_sys_exit(
            ExceptionOnlyPool(unique(), workers=2), IMPOSSIBLE
        )
    assert (after["alive_workers"], after["email_sent"]) == (0, False)
    assert (after["running"], after["failed"]) == (2, 0), (
        "the dead workers' tasks should look 'running' forever"
    )
    assert after["stderr"] == "" and caplog.records == [], (
        "the deaths were reported somewhere"
    )


def test_the_pool_survives_sys_exit_counts_it_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def logged_exits() -> int:
        return sum(
            isinstance(r.exc_info[1], SystemExit) for r in caplog.records if r.exc_info
        )

    with caplog.at_level(logging.ERROR, logger="dualqueue"):
        after = after_two_tasks_call_sys_exit(WorkerPool(unique(), workers=2), DEADLOCK)
        # Each failure is logged just after it is counted, outside the pool's lock: wait
        # for the second line.
        assert wait_for(lambda: logged_exits() == 2), (
            f"{logged_exits()} of 2 exits were logged with a traceback"
        )
    assert (after["alive_workers"], after["email_sent"]) == (2, True)
    assert (after["running"], after["failed"], after["last_error"]["type"]) == (
        0,
        2,
        "SystemExit",
    )
# --8<-- [end:silent-death]


# --8<-- [start:backoff-holds-workers]
def third_email_runs_while_two_back_off(
    policy: Callable[..., Any], clock: FakeClock, wait: float
) -> bool:
    """general=2: two emails fail and back off for 60 s (of fake time); does a third
    email run meanwhile?"""
    pool = WorkerPool(unique("general"), workers=2, clock=clock)
    attempts: list[int] = []

    def send_email(user_id: int) -> None:
        attempts.append(user_id)
        if len(attempts) <= 2:  # the SMTP server refuses both first attempts
            raise ConnectionRefusedError(111, "Connection refused")

    pool.submit(policy(send_email), 1)
    pool.submit(policy(send_email), 2)
    assert wait_for(lambda: len(attempts) >= 2)
    sent = threading.Event()
    pool.submit(sent.set)
    try:
        return sent.wait(wait)
    finally:
        while not pool.join(timeout=0.01):  # wake the backoffs, wherever they wait
            clock.advance(60)


def test_a_retry_that_sleeps_in_the_task_holds_both_workers_through_its_backoff() -> (
    None
):
    clock = FakeClock()
    in_place = InPlaceRetry(attempts=2, base_delay=60, clock=clock)
    # Sound with a short wait: both workers are asleep inside their tasks.
    assert third_email_runs_while_two_back_off(in_place, clock, IMPOSSIBLE) is False


def test_a_retry_that_waits_on_the_clock_leaves_the_workers_free() -> None:
    assert (
        third_email_runs_while_two_back_off(
            Retry(attempts=2, base_delay=60), FakeClock(), DEADLOCK
        )
        is True
    )
# --8<-- [end:backoff-holds-workers]


def test_the_invariant_holds_while_retries_wait_and_after_they_give_up() -> None:
    clock = FakeClock()
    pool = WorkerPool(unique("site"), workers=2, clock=clock, dead_letters=2)

    def analyse(site_id: int) -> None:
        raise TimeoutError(f"site {site_id}: Earth Engine timed out")

    for site_id in range(4):
        pool.submit(Retry(attempts=3, base_delay=10, jitter=0)(analyse), site_id)
    seen = []
    for _ in range(2):
        assert wait_for(lambda: pool.snapshot()["retrying"] == 4)
        seen.append(pool.snapshot())
        clock.advance(clock.next_due() - clock.now())
    assert pool.join(DEADLOCK)
    seen.append(end := pool.snapshot())
    for s in seen:
        assert (
            s["submitted"]
            == s["queued"] + s["running"] + s["succeeded"] + s["failed"] + s["dropped"]
        ), s
    assert (end["failed"], end["retried"], len(end["dead_letters"])) == (4, 8, 2)
    assert [letter["attempts"] for letter in end["dead_letters"]] == [3, 3]


def test_the_package_docstring_session_runs() -> None:
    failures, tried = doctest.testmod(
        chapters.ch08_failures_and_retries, raise_on_error=False
    )
    assert tried > 0 and failures == 0


def test_the_demo_shows_the_silent_death_the_backoff_and_the_dead_letter() -> None:
    result = demo.main(print=lambda *a: None)
    assert result["ExceptionOnlyPool"] == {
        "alive": 0,
        "running": 2,
        "email_sent": False,
    }
    assert result["WorkerPool"] == {"alive": 2, "running": 0, "email_sent": True}
    assert len(result["attempts"]) == 4 and result["attempts"][0] == 0.0
    assert (
        result["waiting"]["queued"],
        result["waiting"]["retrying"],
        result["waiting"]["running"],
    ) == (1, 1, 0)
    assert (result["reset_sent_InPlaceRetry"], result["reset_sent_Retry"]) == (
        False,
        True,
    )
    (letter,) = result["dead_letters"]
    assert letter["attempts"] == 3 and letter["task"].endswith("SMTPDown")
