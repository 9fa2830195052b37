"""Chapter 9: shutdown and fork. The deploy that loses the queue, and the fork that
copies a dead pool, shown on
chapter 8; the same checks pass on chapter 9, whose core is the reference's (see
test_final_chapter_is_reference).
"""

from __future__ import annotations

import doctest
import logging

import chapters.ch09_shutdown_and_fork
import pytest
from chapters.ch09_shutdown_and_fork import (
    PoolClosedError,
    ShutdownReport,
    TaskSystem,
    demo,
)

from tests.forking import FORK_WITH_THREADS

from .support import DEADLOCK, Gate

BEFORE, AFTER = "chapters.ch08_failures_and_retries", "chapters.ch09_shutdown_and_fork"


# --8<-- [start:deploy]
def test_a_deploy_loses_the_queued_emails_of_daemon_workers_and_nothing_says_so() -> (
    None
):
    lost = demo.deploy(BEFORE)
    assert (lost["exit_code"], lost["stderr"]) == (0, ""), (
        "the process failed or complained: the loss was visible"
    )
    # twenty emails of 0.05 s on two workers: half a second of work, cut short
    assert lost["sent"] < 20


def test_with_the_exit_drain_every_queued_email_is_sent_before_the_process_ends() -> (
    None
):
    kept = demo.deploy(AFTER)
    assert (kept["exit_code"], kept["sent"]) == (0, 20), kept
# --8<-- [end:deploy]


# --8<-- [start:fork]
# 3.12+ warns when a process with threads forks
@pytest.mark.filterwarnings(FORK_WITH_THREADS)
def test_a_forked_child_inherits_a_dead_pool_before_and_gets_a_fresh_one_after() -> (
    None
):
    before = demo.fork_a_worker(BEFORE, deadline=5)
    # Either the child finds the parent's pool, backlog and dead threads included, and
    # nothing runs its task; or it hangs on the pool's lock, taken by a parent thread at
    # the moment of the fork.
    if not before.get("deadlocked"):
        assert before["inherited"]["site"] == 4, (
            "the child did not see the parent's backlog as its own"
        )
        assert before["new_task_ran"] is False, (
            "a task ran on worker threads that did not survive the fork"
        )
    after = demo.fork_a_worker(AFTER)
    assert after == {"inherited": {"general": 0, "site": 0}, "new_task_ran": True}
# --8<-- [end:fork]


def test_shutdown_with_nothing_outstanding_is_complete_and_closes_intake() -> None:
    tasks = TaskSystem(general=1, site=1)
    report = tasks.shutdown(timeout=DEADLOCK)
    assert (
        isinstance(report, ShutdownReport)
        and report.complete
        and report.queued == report.running == 0
    )
    with pytest.raises(PoolClosedError, match="'site' pool is shut down"):
        tasks.submit("site", print)
    assert tasks.snapshot()["pools"]["site"]["closed"] is True


def test_a_shutdown_warns_once_per_pool_naming_what_it_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = TaskSystem(general=1, site=1)
    analysis = Gate()
    try:
        tasks.submit("site", analysis.task)
        assert analysis.wait_until_entered(1)
        tasks.submit("site", print, "queued behind it")
        with caplog.at_level(logging.WARNING, logger="dualqueue"):
            report = tasks.shutdown(timeout=0.05)
    finally:
        analysis.open()
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "pool 'site' shut down with 1 task(s) dropped ['builtins.print']" in warning
    assert report.dropped == ("builtins.print",)


def test_the_package_docstring_session_runs() -> None:
    failures, tried = doctest.testmod(
        chapters.ch09_shutdown_and_fork, raise_on_error=False
    )
    assert tried > 0 and failures == 0


@pytest.mark.filterwarnings(FORK_WITH_THREADS)
def test_the_demo_shows_the_loss_the_report_and_the_fork() -> None:
    lines: list[str] = []
    result = demo.main(print=lambda *a: lines.append(" ".join(map(str, a))))
    assert result[BEFORE]["sent"] < 20 and result[AFTER]["sent"] == 20
    report = result["shutdown"]["report"]
    assert (
        report.finished + len(report.dropped) + len(report.still_running)
        == report.queued + report.running
    )
    assert (
        len(report.pools["site"].dropped),
        len(report.pools["site"].still_running),
    ) == (3, 2)
    assert result["shutdown"]["refused"].startswith("'general' pool is shut down")
    assert result[f"fork {BEFORE}"].get("new_task_ran") is not True
    assert result[f"fork {AFTER}"]["new_task_ran"] is True
    assert any("every task accounted for" in line for line in lines)
