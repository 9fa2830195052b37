"""Exercise 9 checks: shutdown drains until its deadline, then drops the rest and names
every task.

Tasks block on gates the test holds, so what is running and what is queued at
the deadline are facts. Each shutdown runs in a helper thread: a shutdown that
never returns (one that waits for a task that never ends) is reported as not
bounded by its deadline instead of hanging the checks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from dualqueue import PoolClosedError

from exercises.explore import locks_held, preemptions
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


def shutdown_in_thread(
    p: WorkerPool, timeout: float | None
) -> tuple[threading.Thread, list[object]]:
    reports: list[object] = []

    def shut() -> None:
        try:
            reports.append(p.shutdown(timeout=timeout))
        except Exception as exc:  # reported by returned(), with what it usually means
            reports.append(exc)

    thread = threading.Thread(target=shut, daemon=True)
    thread.start()
    return thread, reports


def returned(
    thread: threading.Thread, reports: list[object], timeout: float | None
) -> ShutdownReport:
    thread.join(DEADLOCK)
    if timeout is None:
        bound = (
            "once the pool was idle (timeout=None: no deadline, but no reason to wait "
            "longer)"
        )
        usually = (
            "the drain waits on the condition without re-checking whether the pool is "
            "already idle: a notify that came before the wait (or never comes, on an "
            "idle pool) is missed. Wait in a `while` loop that checks for idle first"
        )
    elif timeout <= 0:
        bound = f"at once (timeout={timeout}: no wait at all)"
        usually = (
            "timeout=0 is treated as 'no timeout' (`if timeout:` is False for 0): "
            "compare with None instead"
        )
    else:
        bound = "once the deadline passed"
        usually = (
            "the drain waits for the queue to empty (or for a task that never ends) "
            "without a deadline: wait on the condition with the time remaining, and "
            "stop waiting when none remains"
        )
    assert reports, explain(
        expected=f"shutdown(timeout={timeout}) to return {bound}",
        got=f"it was still waiting {DEADLOCK:g} s later",
        usually=usually,
    )
    if isinstance(reports[0], Exception):
        raise AssertionError(
            explain(
                expected=f"shutdown(timeout={timeout}) to return a ShutdownReport",
                got=f"it raised {type(reports[0]).__name__}: {reports[0]}",
                usually="timeout=None means no deadline: the deadline arithmetic "
                "(monotonic() + timeout) fails on None. And it failed after closing "
                "the pool, so the workers were never told to stop"
                if timeout is None and isinstance(reports[0], TypeError)
                else "read the exception",
            )
        )
    return reports[0]  # type: ignore[return-value]


# --8<-- [start:drain]
def test_shutdown_lets_the_queue_drain_and_reports_every_task_finished() -> None:
    p = WorkerPool("general", workers=1)
    release = threading.Event()
    p.submit(release.wait, DEADLOCK)  # running when shutdown begins
    for task in (send_reset_email, send_welcome_email, notify_admins):
        p.submit(task)
    # no deadline: it drains as long as it takes
    thread, reports = shutdown_in_thread(p, timeout=None)
    release.set()
    report = returned(thread, reports, None)
    ran_when_it_returned = list(ran)
    assert report == ShutdownReport(finished=4, dropped=(), still_running=()), explain(
        expected="ShutdownReport(finished=4, dropped=(), still_running=()): every task "
        "finished during the drain",
        got=repr(report),
        usually="shutdown returns without waiting for the queue: with daemon workers, "
        "whatever was queued is lost when the process exits a moment later, and the "
        "report says nothing",
    )
    assert ran_when_it_returned == [
        "send_reset_email",
        "send_welcome_email",
        "notify_admins",
    ], explain(
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
        finished=0,
        dropped=("send_reset_email", "send_welcome_email", "notify_admins"),
        still_running=("Gate.task",),
    )
    assert report == expected, explain(
        expected=repr(expected),
        got=repr(report),
        usually="the tasks left in the queue at the deadline are not removed and named "
        "(dropped), or the running one is not named (still_running): every outstanding "
        "task must be accounted for",
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
        usually="the queue is not cleared when the tasks are dropped, so the worker "
        "runs them afterwards",
    )
# --8<-- [end:deadline]


@pytest.mark.parametrize("timeout", [0, -1.0], ids=["0", "negative"])
def test_timeout_0_drops_everything_queued_at_once(timeout: float) -> None:
    p = WorkerPool("general", workers=1)
    gate = Gate()
    try:
        p.submit(gate.task)
        assert gate.wait_until_entered(1)
        p.submit(send_reset_email)
        p.submit(notify_admins)
        thread, reports = shutdown_in_thread(p, timeout=timeout)
        report = returned(thread, reports, timeout)
    finally:
        gate.open()
    got = (report.dropped, report.still_running)
    assert got == (("send_reset_email", "notify_admins"), ("Gate.task",)), explain(
        expected=f"timeout={timeout}: dropped ('send_reset_email', 'notify_admins'), "
        "still running ('Gate.task',)",
        got=f"dropped {got[0]}, still running {got[1]}",
        usually="timeout=0 is treated as 'no timeout', or the queue is not dropped",
    )


def test_after_shutdown_a_submit_fails_at_the_caller() -> None:
    p = WorkerPool("general", workers=1)
    returned(*shutdown_in_thread(p, timeout=None), None)
    # not the shared `ran`: another test's abandoned workers may still append to that
    late: list[str] = []
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
        assert wait_for(lambda: p._closed), (
            f"shutdown did not close the pool within {DEADLOCK:g} s"
        )
        # during the drain one analysis finishes (and its worker takes more); the other
        # never does
        gates[0].open()
        report = returned(thread, reports, 0.2)
    finally:
        gates[1].open()
    outstanding = 2 + 5
    accounted = report.finished + len(report.dropped) + len(report.still_running)
    assert accounted == outstanding and report.still_running == ("Gate.task",), explain(
        expected=f"finished + dropped + still_running == {outstanding} (2 running + 5 "
        "queued), with the blocked analysis still running",
        got=f"{report.finished} + {len(report.dropped)} + {len(report.still_running)} "
        f"= {accounted}: {report!r}",
        usually="a task counted twice (finished and dropped) or not at all; count what "
        "finished since the shutdown began, not since the pool was made",
    )


@pytest.mark.parametrize("used", [False, True], ids=["never-used", "idle-after-work"])
def test_shutdown_without_a_deadline_of_an_idle_pool_returns_at_once(
    used: bool,
) -> None:
    p = WorkerPool("general", workers=2)
    if used:
        p.submit(send_reset_email)
        assert wait_for(lambda: ran == ["send_reset_email"] and p._idle())
    report = returned(*shutdown_in_thread(p, timeout=None), None)
    assert report == ShutdownReport(finished=0, dropped=(), still_running=()), explain(
        expected="ShutdownReport(finished=0, dropped=(), still_running=()) for a pool "
        "with nothing to do",
        got=repr(report),
        usually="the report counts what finished before the shutdown began",
    )


def test_after_shutdown_every_worker_thread_exits() -> None:
    p = WorkerPool("site", workers=3)
    for _ in range(3):
        p.submit(send_reset_email)
    # three idle workers, each waiting for a task
    assert wait_for(lambda: len(ran) == 3 and p._idle())
    returned(*shutdown_in_thread(p, timeout=None), None)
    for thread in p._threads:
        thread.join(DEADLOCK)
    alive = [thread.name for thread in p._threads if thread.is_alive()]
    assert not alive, explain(
        expected="all 3 worker threads to exit after the shutdown",
        got=f"{len(alive)} still waiting for work: {alive}",
        usually="the idle workers are woken with notify(), which wakes one of them: "
        "use notify_all() so each one sees that the pool is stopping",
    )


@dataclass
class Closing:
    """A pool with one worker blocked in a task and three tasks queued, a shutdown(0),
    and what ran."""

    ran: list[str] = field(default_factory=list)
    reports: list[ShutdownReport] = field(default_factory=list)
    gate: Gate = field(default_factory=Gate)
    pool: WorkerPool = field(default_factory=lambda: WorkerPool("general", workers=1))

    def __post_init__(self) -> None:
        self.pool.submit(self.gate.task)
        assert self.gate.wait_until_entered(1)
        for name in ("send_reset_email", "send_welcome_email", "notify_admins"):
            self.pool.submit(self.task(name))

    def task(self, name: str) -> object:
        def run() -> None:
            self.ran.append(name)

        run.__qualname__ = name
        return run

    def worker_moves_on(self) -> None:
        """The running task ends, and the worker takes the next queued task (if any) and
        runs it."""
        queued = len(self.pool._queue)
        self.gate.open()
        if queued:
            assert wait_for(lambda: len(self.pool._queue) < queued), (
                "the worker did not take the next task"
            )
        assert wait_for(lambda: self.pool._running == 0), (
            "the worker did not finish its task"
        )


@pytest.mark.budget(20)  # an exploration: about 0.8 s on the solution
def test_a_worker_moving_on_during_the_shutdown_never_runs_a_task_reported_dropped() -> (
    None
):
    # shutdown(0) is stopped before each of its instructions in turn; meanwhile the
    # running task ends and the worker takes the next one from the queue (unless the
    # shutdown holds the mutex).
    explored = preemptions(
        Closing,
        lambda c: c.reports.append(c.pool.shutdown(timeout=0)),
        Closing.worker_moves_on,
        files=[pool.__file__],
        blocked=lambda c: locks_held(c.pool),
    )
    both = [
        p
        for p in explored
        if p.raised or set(p.subject.ran) & set(p.subject.reports[0].dropped)
    ]
    shown = both[0] if both else None
    what = (
        ""
        if shown is None
        else f"shutdown raised {shown.raised!r}"
        if shown.raised
        else str(sorted(set(shown.subject.ran) & set(shown.subject.reports[0].dropped)))
        + " ran and was reported dropped"
    )
    assert explored and shown is None, explain(
        expected="every task either run or named dropped, never both, however the "
        "worker's next step falls",
        got=f"{what}, when the shutdown was stopped at {shown.where} and the worker "
        "moved on"
        if shown
        else "nothing explored",
        usually="the dropped tasks are named (or the queue is cleared) outside the "
        "lock: a worker takes a task between the naming and the clearing. Name, clear "
        "and count in one locked block",
    )
