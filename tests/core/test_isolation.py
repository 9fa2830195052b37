"""Isolation: whatever the site pool is doing, general tasks run, and only on general workers.

The properties are causal, never timed: site tasks block on a gate that stays
closed while the property is checked, so "a general task still runs" can only
be true if no general task ever waits behind a site task.
"""

from __future__ import annotations

import contextlib
import threading

import pytest
from dualqueue import QueueFullError, TaskSystem, WorkerPool
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from chapters.broken import SharedPoolSystem

from . import support
from .support import DEADLOCK, Gate, boom

SITE_WORKERS = 10

# A site task: it blocks until the end of the test, raises, or returns at once.
site_kinds = st.sampled_from(["block", "raise", "ok"])
site_workloads = st.lists(site_kinds, min_size=0, max_size=40)


# --8<-- [start:isolation-property]
def check_general_runs_beside_any_site_workload(
    make_system, site_work: list[str], n_general: int
) -> None:
    """Every general task runs, on a general worker, while the site workload holds the
    site pool."""
    tasks = make_system(general=2, site=SITE_WORKERS)
    gate = Gate()
    threads: dict[str, set[int]] = {"general": set(), "site": set()}
    record = threading.Lock()

    def on(pool: str, work):
        def task() -> None:
            with record:
                threads[pool].add(threading.get_ident())
            work()

        return task

    try:
        for kind in site_work:
            tasks.submit(
                "site",
                on(
                    "site",
                    {"block": gate.task, "raise": boom, "ok": lambda: None}[kind],
                ),
            )
        for _ in range(n_general):
            tasks.submit("general", on("general", lambda: None))
        assert tasks["general"].join(timeout=support.DEADLOCK), (
            "general tasks did not all run while the site pool held"
            f" {site_work.count('block')} blocked tasks"
        )
        gate.open()
        assert tasks.join(timeout=support.DEADLOCK)
        assert threads["general"].isdisjoint(threads["site"]), (
            "a worker ran both general and site tasks"
        )
    finally:
        gate.open()
        tasks.shutdown(timeout=DEADLOCK)
        # --8<-- [end:isolation-property]


@given(site_work=site_workloads, n_general=st.integers(min_value=1, max_value=8))
@settings(max_examples=25)
def test_general_tasks_run_while_site_pool_is_blocked(site_work: list[str], n_general: int) -> None:
    check_general_runs_beside_any_site_workload(TaskSystem, site_work, n_general)


# --8<-- [start:catches-shared-queue]
def test_isolation_property_catches_a_single_shared_queue() -> None:
    # The same property, against one shared queue of 12 workers: hypothesis must
    # find a site workload (12 or more blocked tasks) that starves the general task.
    # A short deadlock timeout is sound here: the starved task can never run.
    @given(site_work=site_workloads, n_general=st.integers(min_value=1, max_value=8))
    @settings(
        max_examples=200, phases=[Phase.generate], database=None, derandomize=True
    )
    def shared_queue_property(site_work: list[str], n_general: int) -> None:
        check_general_runs_beside_any_site_workload(
            SharedPoolSystem, site_work, n_general
        )

    with short_deadlock_timeout(), pytest.raises(AssertionError):
        shared_queue_property()


def test_a_shared_queue_starves_general_tasks_behind_blocked_site_tasks() -> None:
    # The catch above may come from either check; this pins the starvation itself.
    with (
        short_deadlock_timeout(),
        pytest.raises(AssertionError, match="did not all run"),
    ):
        check_general_runs_beside_any_site_workload(
            SharedPoolSystem, ["block"] * 12, n_general=1
        )


@contextlib.contextmanager
def short_deadlock_timeout():
    # Sound only where the wait can never succeed: a starved task can never run.
    original, support.DEADLOCK = support.DEADLOCK, 0.3
    try:
        yield
    finally:
        support.DEADLOCK = original
        # --8<-- [end:catches-shared-queue]


# --8<-- [start:saturation-property]
def check_full_site_pool_never_refuses_general(make_system, backlog: int) -> None:
    """With the site pool's workers blocked and its bounded queue full, general submits
    succeed."""
    tasks = make_system(
        general=WorkerPool("general", workers=2, maxsize=backlog),
        site=WorkerPool("site", workers=SITE_WORKERS, maxsize=backlog),
    )
    gate = Gate()
    done = threading.Event()
    try:
        for n in range(
            1, SITE_WORKERS + 1
        ):  # one at a time, so no task waits while a worker idles
            tasks.submit("site", gate.task)
            assert gate.wait_until_entered(n)
        for _ in range(
            10 * backlog + 100
        ):  # then fill the queue until the site pool refuses
            try:
                tasks.submit("site", gate.task)
            except QueueFullError:
                break
        else:
            raise AssertionError("the bounded site queue never refused a task")
        tasks.submit("general", done.set)  # must neither block nor raise
        assert done.wait(DEADLOCK), (
            "the general task did not run while the site pool was full"
        )
    finally:
        gate.open()
        tasks.shutdown(timeout=DEADLOCK)
        # --8<-- [end:saturation-property]


@given(backlog=st.integers(min_value=1, max_value=50))
@settings(max_examples=10)
def test_filling_the_site_pool_never_blocks_or_fails_a_general_submit(backlog: int) -> None:
    check_full_site_pool_never_refuses_general(TaskSystem, backlog)


def test_saturation_property_catches_a_single_shared_queue() -> None:
    # In one shared bounded queue, the site backlog fills the queue the general task needs.
    with pytest.raises((AssertionError, QueueFullError)):
        check_full_site_pool_never_refuses_general(SharedPoolSystem, backlog=5)
