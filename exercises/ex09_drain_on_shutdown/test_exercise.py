"""Exercise 9 checks: shutdown drains until its deadline, then drops the rest and names every task.

Tasks block on gates the test holds, so what is running and what is queued at
the deadline are facts. Each shutdown runs in a helper thread: a shutdown that
never returns (one that waits for a task that never ends) is reported as not
bounded by its deadline instead of hanging the checks.
"""

from __future__ import annotations

import threading

import pytest
from dualqueue import PoolClosedError

from exercises.support import DEADLOCK, Gate, explain, wait_for
from exercises.target import load

pool = load("ex09_drain_on_shutdown", "pool")
WorkerPool = pool.WorkerPool
ShutdownReport = pool.ShutdownReport

ran: list[str] = []


def send_reset_email() -> None:
    ran.append("send_reset_email")


def send_welcome_email() -> None:
    ran.append("send_welcome_email")


def notify_admins() -> None:
    ran.append("notify_admins")


@pytest.fixture(autouse=True)
def nothing_ran_yet() -> None:
    ran.clear()


def shutdown_in_thread(p: WorkerPool, timeout: float | None) -> tuple[threading.Thread, list[ShutdownReport]]:
    reports: list[ShutdownReport] = []
    thread = threading.Thread(target=lambda: reports.append(p.shutdown(timeout=timeout)), daemon=True)
    thread.start()
    return thread, reports


def returned(thread: threading.Thread, reports: list[ShutdownReport], timeout: float | None) -> ShutdownReport:
    thread.join(DEADLOCK)
    assert reports, explain(
        expected=f"shutdown(timeout={timeout}) to return once the deadline passed",
        got="it was still waiting 10 s later",
        usually="the drain waits for the queue to empty (or for a task that never ends) without a deadline: "
        "wait on the condition with the time remaining, and stop waiting when none remains",
    )
    return reports[0]


# --8<-- [start:drain]
def test_shutdown_lets_the_queue_drain_and_reports_every_task_finished() -> None:
    p = WorkerPool("general", workers=1)
    release = threading.Event()
    p.submit(release.wait, DEADLOCK)  # running when shutdown begins
    for task in (send_reset_email, send_welcome_email, notify_admins):
        p.submit(task)
    thread, reports = shutdown_in_thread(p, timeout=DEADLOCK)
    release.set()
    report = returned(thread, reports, DEADLOCK)
    ran_when_it_returned = list(ran)
    assert report == ShutdownReport(finished=4, dropped=(), still_running=()), explain(
        expected="ShutdownReport(finished=4, dropped=(), still_running=()): every task finished during the drain",
        got=repr(report),
        usually="shutdown returns without waiting for the queue: with daemon workers, whatever was queued is "
        "lost when the process exits a moment later, and the report says nothing",
    )
    assert ran_when_it_returned == ["send_reset_email", "send_welcome_email", "notify_admins"], explain(
        expected="all three queued tasks to have run by the time shutdown returned",
        got=f"{ran_when_it_returned} had run",
        usually="shutdown does not wait for the pool to be idle",
    )
# --8<-- [end:drain]


# --8<-- [start:deadline]
def test_at_the_deadline_the_queue_is_dropped_and_every_task_is_named() -> None:
    p = WorkerPool("general", workers=1)
    gate = Gate()
    try:
        p.submit(gate.task)  # an analysis that will not finish in time
        assert gate.wait_until_entered(1)
        for task in (send_reset_email, send_welcome_email, notify_admins):
            p.submit(task)
        thread, reports = shutdown_in_thread(p, timeout=0.05)
        report = returned(thread, reports, 0.05)
    finally:
        gate.open()
    expected = ShutdownReport(
        finished=0, dropped=("send_reset_email", "send_welcome_email", "notify_admins"), still_running=("Gate.task",)
    )
    assert report == expected, explain(
        expected=repr(expected),
        got=repr(report),
        usually="the tasks left in the queue at the deadline are not removed and named (dropped), or the "
        "running one is not named (still_running): every outstanding task must be accounted for",
    )
    assert p.dropped == 3, explain(
        expected="pool.dropped == 3: the status page must show what was lost",
        got=f"pool.dropped == {p.dropped}",
        usually="the dropped tasks are named in the report but not counted",
    )
    for thread in p._threads:
        thread.join(DEADLOCK)
    assert ran == [], explain(
        expected="the dropped tasks never to run, even after the analysis finished",
        got=f"{ran} ran after the shutdown had reported them dropped",
        usually="the queue is not cleared when the tasks are dropped, so the worker runs them afterwards",
    )
# --8<-- [end:deadline]


def test_timeout_0_drops_everything_queued_at_once() -> None:
    p = WorkerPool("general", workers=1)
    gate = Gate()
    try:
        p.submit(gate.task)
        assert gate.wait_until_entered(1)
        p.submit(send_reset_email)
        p.submit(notify_admins)
        thread, reports = shutdown_in_thread(p, timeout=0)
        report = returned(thread, reports, 0)
    finally:
        gate.open()
    got = (report.dropped, report.still_running)
    assert got == (("send_reset_email", "notify_admins"), ("Gate.task",)), explain(
        expected="timeout=0: dropped ('send_reset_email', 'notify_admins'), still running ('Gate.task',)",
        got=f"dropped {got[0]}, still running {got[1]}",
        usually="timeout=0 is treated as 'no timeout', or the queue is not dropped",
    )


def test_after_shutdown_a_submit_fails_at_the_caller() -> None:
    p = WorkerPool("general", workers=1)
    p.shutdown(timeout=DEADLOCK)
    late: list[str] = []  # not the shared `ran`: another test's abandoned workers may still append to that
    with pytest.raises(PoolClosedError):
        p.submit(late.append, "late")
    assert late == [], explain(
        expected="a refused task never to run",
        got=f"{late} ran after submit raised PoolClosedError",
        usually="submit raises after queueing the task instead of before",
    )


def test_the_report_accounts_for_every_outstanding_task_exactly_once() -> None:
    p = WorkerPool("site", workers=2)
    gates = [Gate(), Gate()]
    try:
        p.submit(gates[0].task)
        p.submit(gates[1].task)
        assert gates[0].wait_until_entered(1) and gates[1].wait_until_entered(1)
        for _ in range(5):
            p.submit(send_reset_email)
        thread, reports = shutdown_in_thread(p, timeout=0.2)
        assert wait_for(lambda: p._closed), "shutdown did not close the pool within 10 s"
        gates[0].open()  # during the drain one analysis finishes (and its worker takes more); the other never does
        report = returned(thread, reports, 0.2)
    finally:
        gates[1].open()
    outstanding = 2 + 5
    accounted = report.finished + len(report.dropped) + len(report.still_running)
    assert accounted == outstanding and report.still_running == ("Gate.task",), explain(
        expected=f"finished + dropped + still_running == {outstanding} (2 running + 5 queued), "
        "with the blocked analysis still running",
        got=f"{report.finished} + {len(report.dropped)} + {len(report.still_running)} = {accounted}: {report!r}",
        usually="a task counted twice (finished and dropped) or not at all; count what finished since the "
        "shutdown began, not since the pool was made",
    )
