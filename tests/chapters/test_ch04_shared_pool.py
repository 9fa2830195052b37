"""Chapter 4: one shared pool. Head-of-line blocking, and why priority is not isolation.

The verdicts come from ``chapters.ch04_shared_pool.experiment`` (the code the
chapter shows). The same email check passes on chapter 5's two pools: see
``test_ch05_two_queues.py``.
"""

from __future__ import annotations

import threading

import pytest
from chapters.broken import SharedPoolSystem
from chapters.ch04_shared_pool import PrioritizedTasks, PriorityPool, SharedTasks, demo
from chapters.ch04_shared_pool.experiment import (
    email_runs_while_analyses_block,
    first_start_after_one_release,
)
from chapters.ch04_shared_pool.shared import SEED_WORKERS

from .support import DEADLOCK, IMPOSSIBLE, Gate, unique


# A short deadlock timeout is sound in these: with every worker blocked, the email can
# never start.
@pytest.mark.parametrize(
    "make", [SharedTasks, PrioritizedTasks], ids=["shared", "shared+priority"]
)
def test_in_one_shared_pool_an_email_cannot_start_while_twelve_analyses_block(
    make: type[SharedTasks],
) -> None:
    assert (
        email_runs_while_analyses_block(
            make(), site_workers=SEED_WORKERS, timeout=IMPOSSIBLE
        )
        is False
    )


def test_the_reference_derived_shared_queue_fails_the_same_check() -> None:
    tasks = SharedPoolSystem(general=2, site=10)  # 12 workers, one queue
    try:
        assert (
            email_runs_while_analyses_block(
                tasks, site_workers=SEED_WORKERS, timeout=IMPOSSIBLE
            )
            is False
        )
    finally:
        tasks.shutdown(timeout=DEADLOCK)


# --8<-- [start:priority-tests]
def test_without_priority_the_freed_worker_takes_the_oldest_analysis() -> None:
    assert first_start_after_one_release(SharedTasks()) == f"analysis-{SEED_WORKERS}"


def test_priority_puts_the_email_first_but_only_a_finished_analysis_starts_it() -> None:
    assert first_start_after_one_release(PrioritizedTasks()) == "email"
    # --8<-- [end:priority-tests]


def test_a_priority_pool_runs_lowest_number_first_and_equals_in_order() -> None:
    pool = PriorityPool(unique(), workers=1)
    gate = Gate()
    order: list[str] = []
    try:
        pool.submit(gate.task)
        assert gate.wait_until_entered(
            1
        )  # the one worker is busy; everything below waits
        for priority, label in [(5, "e"), (1, "a"), (3, "c"), (1, "b"), (3, "d")]:
            pool.submit_with_priority(priority, order.append, label)
        pool.submit(order.append, "normal")  # NORMAL = 10
    finally:
        gate.open()
    assert pool.join(DEADLOCK)
    assert order == ["a", "b", "c", "d", "e", "normal"]


def test_a_priority_pool_refuses_bad_input_at_the_caller() -> None:
    pool = PriorityPool(unique(), workers=1)
    with pytest.raises(TypeError, match="priority"):
        pool.submit_with_priority("high", print)
    with pytest.raises(TypeError, match="callable"):
        pool.submit_with_priority(1, "print")
    ran = threading.Event()
    pool.submit_with_priority(1, ran.set)
    assert ran.wait(DEADLOCK)


@pytest.mark.parametrize(
    "make", [SharedTasks, PrioritizedTasks], ids=["shared", "shared+priority"]
)
def test_an_unknown_queue_name_is_refused_at_the_caller(
    make: type[SharedTasks],
) -> None:
    with pytest.raises(KeyError, match=r"\['general', 'site'\]"):
        make().submit("emails", print)


def test_the_demo_shows_head_of_line_blocking_with_and_without_priority() -> None:
    result = demo.main(print=lambda *a: None)
    shared, prioritized = result["shared pool"], result["shared pool + priority"]
    assert (
        shared["email_ran_while_blocked"] is False
        and prioritized["email_ran_while_blocked"] is False
    )
    assert (
        shared["first_after_release"] == "analysis-12"
        and prioritized["first_after_release"] == "email"
    )
