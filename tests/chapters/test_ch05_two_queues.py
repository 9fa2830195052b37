"""Chapter 5: two pools. Chapter 4's failing check passes, and a bounded queue says no
at the caller.

The isolation check is the one chapter 4 fails, run here on both designs in one
test, so that it is shown to separate them.
"""

from __future__ import annotations

import doctest

import chapters.ch05_two_queues
import pytest
from chapters.ch04_shared_pool import SharedTasks
from chapters.ch04_shared_pool import WorkerPool as UnboundedPool
from chapters.ch04_shared_pool.experiment import email_runs_while_analyses_block
from chapters.ch05_two_queues import QueueFullError, TaskSystem, WorkerPool, demo

from .support import DEADLOCK, IMPOSSIBLE, Gate, unique


# --8<-- [start:both-designs]
def test_the_email_runs_beside_blocked_analyses_on_two_pools_and_not_on_one() -> None:
    assert (
        email_runs_while_analyses_block(TaskSystem(general=2, site=10), site_workers=10)
        is True
    )
    # The same workload and the same number of threads (12), in one shared queue:
    assert (
        email_runs_while_analyses_block(
            SharedTasks(12), site_workers=12, timeout=IMPOSSIBLE
        )
        is False
    )
    # --8<-- [end:both-designs]


@pytest.mark.parametrize("analyses", [10, 11, 50])
def test_however_many_analyses_block_general_tasks_still_run(analyses: int) -> None:
    tasks = TaskSystem(general=2, site=10)
    assert (
        email_runs_while_analyses_block(tasks, site_workers=10, analyses=analyses)
        is True
    )


def accepts_backlog(pool: UnboundedPool | WorkerPool, backlog: int) -> int:
    """How many of ``backlog`` tasks a pool whose one worker is blocked accepts before
    saying no."""
    gate = Gate()
    accepted = 0
    try:
        pool.submit(gate.task)
        assert gate.wait_until_entered(1)
        for _ in range(backlog):
            try:
                pool.submit(gate.task)
            except QueueFullError:
                continue
            accepted += 1
    finally:
        gate.open()
    assert pool.join(DEADLOCK)
    assert gate.entered == accepted + 1, "a task the pool accepted never ran"
    return accepted


def test_an_unbounded_queue_takes_any_backlog_a_bounded_one_stops_at_maxsize() -> None:
    assert accepts_backlog(UnboundedPool(unique(), workers=1), 1000) == 1000
    assert accepts_backlog(WorkerPool(unique(), workers=1, maxsize=25), 1000) == 25


def test_queue_full_names_the_pool_and_the_refused_task() -> None:
    pool = WorkerPool("site", workers=1, maxsize=1)
    gate = Gate()
    try:
        pool.submit(gate.task)
        assert gate.wait_until_entered(1)
        pool.submit(gate.task)
        with pytest.raises(
            QueueFullError,
            match=r"'site' pool queue is full \(1 waiting\); .*Gate.task",
        ):
            pool.submit(gate.task)
    finally:
        gate.open()
    assert pool.join(DEADLOCK)


def test_the_package_docstring_session_runs() -> None:
    failures, tried = doctest.testmod(chapters.ch05_two_queues, raise_on_error=False)
    assert tried > 0 and failures == 0


def test_the_demo_shows_isolation_and_refusals_at_the_caller() -> None:
    lines: list[str] = []
    result = demo.main(print=lambda *a: lines.append(" ".join(map(str, a))))
    assert result["email_ran_while_blocked"] is True
    assert (result["accepted"], result["refused"]) == (15, 15)
    assert result["general_ran_while_site_full"] is True
    shown = "\n".join(lines)
    assert "QueueFullError:\n    'site' pool queue is full" in shown
