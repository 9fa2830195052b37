"""Chapter 13: time. Each first version shown failing, then the core's answer passing.

A thread per deferred task and a worker asleep; a periodic timer per worker
process running every tick once per process (two real processes meeting on a
barrier at every tick), then ``FileClaims`` running it once; a deploy that
leaves ticks nobody ran, recorded as skipped; an analysis whose picture says
only RUNNING, then its real steps. Everything on ``FakeClock`` s: nothing here
sleeps through an hour, a minute or a step.
"""

from __future__ import annotations

import doctest
import threading

import chapters.ch13_time
import pytest
from chapters.ch13_time import (
    Every,
    FakeClock,
    FileClaims,
    TaskSystem,
    WorkerPool,
    demo,
    report_progress,
)

from .support import DEADLOCK


@pytest.fixture(autouse=True)
def nothing_sent_yet() -> None:
    demo.sent.clear()


# --8<-- [start:later]
def test_a_timer_per_reminder_is_a_thread_and_a_sleeping_one_holds_a_worker() -> None:
    before = demo.later_before()
    assert before == {"timer_threads": 200, "reset_ran_while_asleep": False}


def test_deferred_reminders_run_on_time_once_and_are_named_if_dropped() -> None:
    after = demo.later_after()
    assert after["threads"] == 2  # the pool's two workers, whatever the number deferred
    assert (after["scheduled"], after["reset_ran"], after["early"]) == (200, True, 200)
    assert after["reminders"] == 200 and len(demo.sent) == 201  # and the reset email
    assert after["dropped"] == ("chapters.ch13_time.demo.send_reminder",)
# --8<-- [end:later]


def test_a_deferred_task_never_runs_before_its_time_on_a_fake_clock() -> None:
    clock = FakeClock()
    pool = WorkerPool("general", workers=1, clock=clock)
    ran = threading.Event()
    pool.submit_after(10, ran.set)
    clock.advance(9.999)
    assert pool.join(timeout=0) is False and not ran.is_set()  # join waits for it too
    assert pool.snapshot()["next_scheduled_in"] == pytest.approx(0.001)
    clock.advance(0.001)
    assert pool.join(timeout=DEADLOCK) and ran.is_set()
    pool.shutdown(timeout=DEADLOCK)


# --8<-- [start:every]
@pytest.mark.timeout(120)
def test_a_timer_per_process_runs_each_tick_twice_and_file_claims_run_it_once() -> None:
    before, after = demo.every_before_and_after()
    assert before == {1: 2, 2: 2, 3: 2}  # two worker processes: every digest sent twice
    assert after == {1: 1, 2: 1, 3: 1}  # FileClaims: each tick claimed by exactly one


def test_ticks_nobody_ran_during_a_deploy_are_counted_as_skipped() -> None:
    picture = demo.a_tick_nobody_ran()
    assert (picture["ran_here"], picture["skipped"]) == (1, 3)
# --8<-- [end:every]


def test_two_systems_sharing_file_claims_in_one_process_run_each_tick_once(
    tmp_path: object,
) -> None:
    clock = FakeClock(wall_start=demo.START)
    runs: list[int] = []
    systems = [TaskSystem(general=1, clock=clock) for _ in range(2)]
    periodics = [
        system.every(
            "digest", Every(60), runs.append, 1, claims=FileClaims(str(tmp_path))
        )
        for system in systems
    ]
    clock.advance(60)
    for system in systems:
        assert system.join(timeout=DEADLOCK)
    assert runs == [1]
    pictures = [p.snapshot() for p in periodics]
    counts = sorted((p["ran_here"], p["ran_elsewhere"]) for p in pictures)
    assert counts == [(0, 1), (1, 0)]
    for system in systems:
        system.shutdown(timeout=DEADLOCK)


# --8<-- [start:progress]
def test_progress_is_shown_while_the_analysis_runs_and_cleared_when_it_ends() -> None:
    assert demo.how_far_along(report=False) == [None, None, None]
    shown = demo.how_far_along(report=True)
    assert [(p["current"], p["total"], p["fraction"]) for p in shown] == [
        (1, 12, round(1 / 12, 4)),
        (6, 12, 0.5),
        (12, 12, 1.0),
    ]
    assert shown[1]["message"] == "NDVI tile 6"


def test_report_progress_outside_a_pools_worker_records_nothing() -> None:
    assert report_progress(1, 12, "inline") is False
# --8<-- [end:progress]


@pytest.mark.parametrize(
    ("args", "error"),
    [((-1,), ValueError), ((float("nan"),), ValueError), ((True,), TypeError),
     ((13, 12), ValueError), ((1, 0), ValueError), ((1, 12, b"bytes"), TypeError)],
)
def test_bad_progress_fails_in_the_task_that_reported_it(
    args: tuple[object, ...], error: type[Exception]
) -> None:
    with pytest.raises(error):
        report_progress(*args)  # type: ignore[arg-type]


def test_the_chapter_docstring_session_runs() -> None:
    assert doctest.testmod(chapters.ch13_time).failed == 0
