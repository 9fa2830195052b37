"""Chapter 6: stats under a lock. The lost update is shown by construction, not by luck.

The same deterministic exploration runs against ``NaiveStatsPool`` (counting
outside the mutex: it must find lost updates and torn snapshots) and against
the chapter's ``WorkerPool`` (it must find none). A DPOR explorer, run in a
subprocess, agrees. The stress test is run only where its answer means
something: on the locked pool, which must never lose a count.
"""

from __future__ import annotations

import doctest
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import chapters.ch06_stats_under_a_lock
from chapters.ch06_stats_under_a_lock import (
    NaiveStatsPool,
    TaskSystem,
    WorkerPool,
    demo,
)
from chapters.ch06_stats_under_a_lock.experiment import (
    consistent,
    hammer,
    held,
    two_workers_finish,
)
from chapters.ch06_stats_under_a_lock.interleave import preemptions

from .support import DEADLOCK, Gate, boom, unique

ROOT = Path(__file__).resolve().parents[2]


# --8<-- [start:verdicts]
def test_preempting_the_naive_count_loses_an_update_and_tears_a_snapshot() -> None:
    verdict = two_workers_finish(NaiveStatsPool)
    assert any("STORE_ATTR succeeded" in where for where in verdict.lost_updates), (
        verdict
    )
    assert any("STORE_ATTR running" in where for where in verdict.lost_updates), verdict
    assert verdict.torn_snapshots, (
        "no snapshot taken between the two counter updates broke the invariant"
    )


def test_under_the_mutex_no_preemption_loses_an_update_or_tears_a_snapshot() -> None:
    verdict = two_workers_finish(WorkerPool)
    assert verdict.explored >= 20, (
        "the exploration did not step through the counting code"
    )
    assert verdict.lost_updates == [] and verdict.torn_snapshots == [], verdict
    assert verdict.waited > 0, (
        "worker 0 never held the mutex while stopped: the counting is not under it"
    )
    # --8<-- [end:verdicts]


def test_the_failure_path_loses_a_count_without_the_mutex_and_not_with_it() -> None:
    def lost_failures(pool_class: type[WorkerPool]) -> list[str]:
        def two_running() -> WorkerPool:
            pool = pool_class(unique(), workers=2)
            with pool._mutex:
                pool._stats.submitted = pool._stats.running = 2
            return pool

        def fail(slot: int):
            return lambda pool: pool._task_failed(
                slot, (boom, (), {}, 0.0), RuntimeError("boom")
            )

        explored = preemptions(
            two_running,
            fail(0),
            fail(1),
            pool_class._task_failed.__code__,
            lambda pool: held(pool._mutex),
        )
        assert explored
        return [
            p.where
            for p in explored
            if (p.subject._stats.failed, p.subject._stats.running) != (2, 0)
        ]

    logger = logging.getLogger("dualqueue")
    disabled, logger.disabled = (
        logger.disabled,
        True,
    )  # a hundred tracebacks say nothing here
    try:
        assert any(
            "STORE_ATTR failed" in where for where in lost_failures(NaiveStatsPool)
        )
        assert lost_failures(WorkerPool) == []
    finally:
        logger.disabled = disabled


def test_dpor_agrees_the_naive_count_loses_updates_the_locked_one_does_not() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tests.chapters.dpor_chapters"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    verdicts = {
        record["pool"]: record for record in map(json.loads, out.stdout.splitlines())
    }
    assert verdicts["WorkerPool"]["holds"] and verdicts["WorkerPool"]["explored"] >= 2
    assert not verdicts["NaiveStatsPool"]["holds"], (
        "DPOR missed the lost update of += without a lock"
    )


def test_the_locked_pool_never_loses_a_count_under_stress() -> None:
    # The stress test is the right check in this direction only: on CPython 3.11 it
    # finds
    # nothing wrong with NaiveStatsPool either, which is the chapter's point.
    assert hammer(WorkerPool, tasks=5_000) == 0


def test_every_snapshot_while_tasks_run_fail_and_queue_is_consistent() -> None:
    tasks = TaskSystem(general=2, site=3)
    gate = Gate()
    try:
        for _ in range(5):
            tasks.submit("site", gate.task)
        for _ in range(4):
            tasks.submit("general", boom)
        assert gate.wait_until_entered(3)
        assert tasks["general"].join(DEADLOCK)
        picture = tasks.snapshot()
    finally:
        gate.open()
    site, general = picture["pools"]["site"], picture["pools"]["general"]
    assert (site["submitted"], site["queued"], site["running"]) == (5, 2, 3)
    assert (general["submitted"], general["failed"], general["error_rate"]) == (
        4,
        4,
        1.0,
    )
    assert all(consistent(pool) for pool in picture["pools"].values())
    assert tasks.join(DEADLOCK)
    assert tasks.snapshot()["pools"]["site"]["succeeded"] == 5


def test_last_error_is_the_first_message_line_never_a_traceback_or_argument() -> None:
    pool = WorkerPool(unique(), workers=1)
    secret = "user-4242@example.com"

    def send_reset_email(address: str) -> None:
        raise ConnectionError(
            "421 service not available\n  File 'smtplib.py', line 398, in getreply\n"
            + "x" * 500
        )

    pool.submit(send_reset_email, secret)
    assert pool.join(DEADLOCK)
    error = pool.snapshot()["last_error"]
    assert error["type"] == "ConnectionError"
    assert error["message"] == "421 service not available"
    assert secret not in json.dumps(pool.snapshot())


def test_the_system_snapshot_says_which_process_it_describes() -> None:
    picture = TaskSystem(general=1, site=1).snapshot()
    assert picture["pid"] == os.getpid()
    assert sorted(picture["pools"]) == ["general", "site"]
    assert json.loads(json.dumps(picture)) == picture


def test_a_snapshot_starts_no_worker() -> None:
    name = unique()
    pool = WorkerPool(name, workers=2)
    assert pool.snapshot()["started"] is False and pool.snapshot()["alive_workers"] == 0
    assert not [
        t for t in threading.enumerate() if t.name.startswith(f"dualqueue-{name}-")
    ]


def test_the_package_docstring_session_runs() -> None:
    failures, tried = doctest.testmod(
        chapters.ch06_stats_under_a_lock, raise_on_error=False
    )
    assert tried > 0 and failures == 0


def test_the_demo_shows_the_picture_and_the_lost_update_found_by_construction() -> None:
    lines: list[str] = []
    result = demo.main(print=lambda *a: lines.append(" ".join(map(str, a))))
    site = result["picture"]["pools"]["site"]
    assert (site["queued"], site["running"]) == (2, 3)
    assert result["hammer_lost"]["WorkerPool"] == 0
    assert result["verdicts"]["NaiveStatsPool"].lost_updates
    assert not result["verdicts"]["WorkerPool"].lost_updates
    assert any("SMTPUnavailable" in line and "Traceback" not in line for line in lines)
