"""Progress: a running task reports how far it is; the snapshot shows it until the task ends."""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest
from dualqueue import FakeClock, WorkerPool, report_progress

from .support import DEADLOCK, wait_for


class Steps:
    """A task that reports progress, then waits for the test before each next step."""

    task_name = "analysis"

    def __init__(self) -> None:
        self.go = threading.Semaphore(0)
        self.results: list[bool] = []

    def __call__(self, total: int) -> None:
        for step in range(total + 1):
            self.results.append(report_progress(step, total, f"step {step}"))
            self.go.acquire()


def progress_of(pool: WorkerPool) -> list[dict[str, Any]]:
    return pool.snapshot()["running_tasks"]


def test_progress_is_shown_while_the_task_runs_and_cleared_when_it_ends() -> None:
    clock = FakeClock()
    pool = WorkerPool("site", workers=2, clock=clock)
    task = Steps()
    pool.submit(task, 4)
    assert wait_for(lambda: len(task.results) == 1)
    clock.advance(2)
    [running] = progress_of(pool)
    assert running["name"] == "analysis" and running["running_seconds"] == 2.0
    assert running["progress"] == {
        "current": 0.0,
        "total": 4.0,
        "fraction": 0.0,
        "message": "step 0",
        "age_seconds": 2.0,
    }
    for _ in range(3):
        task.go.release()
    assert wait_for(lambda: len(task.results) == 4)
    assert progress_of(pool)[0]["progress"]["fraction"] == 0.75
    task.go.release()
    task.go.release()
    assert pool.join(DEADLOCK)
    assert progress_of(pool) == [] and task.results == [True] * 5
    # The next task on the same worker never shows the last one's progress.
    gate = threading.Event()
    pool.submit(gate.wait)
    assert wait_for(lambda: len(progress_of(pool)) == 1)
    assert progress_of(pool)[0]["progress"] is None
    gate.set()
    pool.shutdown(DEADLOCK)


def test_a_failed_task_clears_its_progress_too() -> None:
    pool = WorkerPool("fails", workers=1)

    def half_then_boom() -> None:
        report_progress(1, 2)
        raise RuntimeError("boom")

    pool.submit(half_then_boom)
    assert pool.join(DEADLOCK)
    assert progress_of(pool) == []
    pool.submit(threading.Event().wait, 0.2)
    assert wait_for(lambda: len(progress_of(pool)) == 1)
    assert progress_of(pool)[0]["progress"] is None
    pool.shutdown(DEADLOCK)


def test_outside_a_pool_worker_it_records_nothing_and_says_so() -> None:
    assert report_progress(1, 2, "inline") is False  # a test calling the task directly
    pool = WorkerPool("outside", workers=1)
    seen: list[bool] = []

    def spawns_a_thread() -> None:
        thread = threading.Thread(target=lambda: seen.append(report_progress(1)))
        thread.start()
        thread.join()

    pool.submit(spawns_a_thread)
    assert pool.join(DEADLOCK) and seen == [False]
    pool.shutdown(DEADLOCK)


def test_unknown_total_and_a_long_message() -> None:
    pool = WorkerPool("unknown", workers=1)
    release = threading.Event()

    def task() -> None:
        report_progress(7, message="x" * 1000 + "\n")
        release.wait(DEADLOCK)

    pool.submit(task)
    assert wait_for(lambda: bool(progress_of(pool)) and progress_of(pool)[0]["progress"] is not None)
    shown = progress_of(pool)[0]["progress"]
    assert shown["total"] is None and shown["fraction"] is None and shown["current"] == 7.0
    assert len(shown["message"]) == 200 and shown["message"].endswith("…")
    release.set()
    pool.shutdown(DEADLOCK)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((-1,), ValueError),
        ((math.nan,), ValueError),
        ((math.inf,), ValueError),
        ((True,), TypeError),
        (("3",), TypeError),
        ((1, 0), ValueError),
        ((1, -5), ValueError),
        ((1, math.inf), ValueError),
        ((3, 2), ValueError),  # beyond the total: a counting bug, refused not clamped
        ((1, 2, 3), TypeError),
        ((1, 2, None), TypeError),
    ],
)
def test_bad_progress_fails_in_the_task_that_reports_it(args: tuple[Any, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        report_progress(*args)
    pool = WorkerPool("bad", workers=1)
    pool.submit(report_progress, *args)
    assert pool.join(DEADLOCK)
    snap = pool.snapshot()
    assert snap["failed"] == 1 and snap["last_error"]["type"] == error.__name__
    pool.shutdown(DEADLOCK)


def test_a_task_whose_name_calls_the_snapshot_does_not_recurse() -> None:
    pool = WorkerPool("hostile", workers=1)
    release = threading.Event()

    class Nosy:
        def __getattribute__(self, name: str) -> Any:
            if name in ("task_name", "__qualname__"):
                pool.snapshot()  # a status request from inside the name
            return object.__getattribute__(self, name)

        def __call__(self) -> None:
            release.wait(DEADLOCK)

    pool.submit(Nosy())
    assert wait_for(lambda: bool(progress_of(pool)) and progress_of(pool)[0]["name"] != "<starting>")
    assert progress_of(pool)[0]["name"].endswith("Nosy")
    release.set()
    pool.shutdown(DEADLOCK)
