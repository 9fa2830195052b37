"""The behaviour suite, early features: one specification, run against every chapter
that has the feature.

Each test names the features it needs with ``@pytest.mark.feature(...)`` and
runs once per chapter that has them, and once against the reference core
(see ``conftest.py``). A chapter that gains a feature inherits its tests.
"""

from __future__ import annotations

import logging
import sys
import threading

import dualqueue
import pytest
from chapters.broken import SharedPoolSystem
from chapters.ch02_one_worker import NaiveWorker, Worker
from chapters.ch04_shared_pool.experiment import email_runs_while_analyses_block

from .conftest import Chapter, broken_chapter
from .support import (
    DEADLOCK,
    IMPOSSIBLE,
    Gate,
    boom,
    thread_deaths,
    unique,
    wait_for,
    worker_threads,
)

# -- worker ----------------------------------------------------------------


@pytest.mark.feature("worker")
def test_a_submitted_task_runs_with_its_arguments(chapter: Chapter) -> None:
    worker = chapter.worker(unique())
    seen: list[object] = []
    ran = threading.Event()

    def task(*args: object, **kwargs: object) -> None:
        seen.append((args, kwargs))
        ran.set()

    assert (
        worker.submit(task, 1, "two", fn="a keyword named like the positional-only fn")
        is None
    )
    assert ran.wait(DEADLOCK), "the submitted task never ran"
    assert seen == [((1, "two"), {"fn": "a keyword named like the positional-only fn"})]


@pytest.mark.feature("worker")
def test_one_worker_runs_tasks_in_submission_order(chapter: Chapter) -> None:
    worker = chapter.worker(unique())
    order: list[int] = []
    done = threading.Event()
    for n in range(50):
        worker.submit(order.append, n)
    worker.submit(done.set)
    assert done.wait(DEADLOCK)
    assert order == list(range(50))


@pytest.mark.feature("worker")
def test_submit_returns_while_the_task_is_still_running(chapter: Chapter) -> None:
    worker = chapter.worker(unique())
    gate = Gate()
    submitter = threading.Thread(target=worker.submit, args=(gate.task,))
    try:
        submitter.start()
        submitter.join(DEADLOCK)
        assert not submitter.is_alive(), (
            "submit waited for the task: the request would pay for the work"
        )
        assert gate.wait_until_entered(1), "the task never started"
    finally:
        gate.open()


# -- survives_errors -------------------------------------------------------


@pytest.mark.feature("survives_errors")
@pytest.mark.parametrize(
    "error", [RuntimeError("boom"), SystemExit(3), KeyboardInterrupt()], ids=type
)
def test_a_worker_survives_a_raising_task_and_logs_it(
    chapter: Chapter, error: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    name = unique()
    worker = chapter.worker(name)
    ran = threading.Event()

    def fail() -> None:
        raise error

    with caplog.at_level(logging.ERROR, logger="dualqueue"):
        worker.submit(fail)
        worker.submit(ran.set)
        assert ran.wait(DEADLOCK), (
            f"the task after one that raised {type(error).__name__} never ran"
        )
    assert len(worker_threads(name)) == 1, "the worker thread died"
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[1] is error]
    assert logged, "the failure was not logged with its exception: it was lost silently"


@pytest.mark.feature("survives_errors", "pool")
def test_every_worker_of_a_pool_survives_raising_tasks(chapter: Chapter) -> None:
    name = unique()
    pool = chapter.pool(workers=3, name=name)
    for _ in range(12):
        pool.submit(boom)
    assert pool.join(DEADLOCK)
    # only passes if all three workers are still working
    together = threading.Barrier(3, timeout=DEADLOCK)
    passed: list[int] = []
    for _ in range(3):
        pool.submit(lambda: passed.append(together.wait()))
    assert pool.join(DEADLOCK)
    assert sorted(passed) == [0, 1, 2], (
        "fewer than three workers ran tasks after the failures"
    )
    assert len(worker_threads(name)) == 3


# -- lazy_start ------------------------------------------------------------


@pytest.mark.feature("lazy_start")
def test_creating_starts_no_thread_and_the_first_submit_starts_the_workers(
    chapter: Chapter,
) -> None:
    name = unique()
    workers = 3 if chapter.has("pool") else 1
    runner = (
        chapter.pool(workers=workers, name=name)
        if chapter.has("pool")
        else chapter.worker(name)
    )
    assert worker_threads(name) == [], "creating the worker started a thread"
    ran = threading.Event()
    runner.submit(ran.set)
    assert ran.wait(DEADLOCK)
    assert len(worker_threads(name)) == workers
    runner.submit(ran.set)
    assert len(worker_threads(name)) == workers, "a later submit started more threads"


# -- pool ------------------------------------------------------------------


@pytest.mark.feature("pool")
@pytest.mark.parametrize("workers", [1, 2, 5])
def test_a_pool_runs_as_many_tasks_at_once_as_it_has_workers(
    chapter: Chapter, workers: int
) -> None:
    pool = chapter.pool(workers=workers, name=unique())
    # passes only with `workers` tasks running at once
    together = threading.Barrier(workers, timeout=DEADLOCK)
    passed: list[int] = []
    for _ in range(2 * workers):
        pool.submit(lambda: passed.append(together.wait()))
    assert pool.join(DEADLOCK)
    assert sorted(passed) == sorted(list(range(workers)) * 2)


@pytest.mark.feature("pool")
def test_join_times_out_while_a_task_blocks_and_succeeds_once_it_is_released(
    chapter: Chapter,
) -> None:
    pool = chapter.pool(workers=2, name=unique())
    gate = Gate()
    try:
        pool.submit(gate.task)
        pool.submit(gate.task)
        pool.submit(gate.task)  # one queued behind the two running
        assert gate.wait_until_entered(2)
        assert pool.join(timeout=0.05) is False
    finally:
        gate.open()
    assert pool.join(timeout=DEADLOCK) is True
    assert gate.entered == 3


@pytest.mark.feature("pool")
def test_join_is_true_at_once_for_an_idle_pool_and_counts_failed_tasks_as_done(
    chapter: Chapter,
) -> None:
    pool = chapter.pool(workers=2, name=unique())
    assert pool.join(timeout=0) is True
    pool.submit(boom)
    assert pool.join(timeout=DEADLOCK) is True


# -- bad_input -------------------------------------------------------------


@pytest.mark.feature("bad_input")
@pytest.mark.parametrize("not_a_task", [42, "send_email", None])
def test_a_non_callable_is_refused_at_the_caller(
    chapter: Chapter, not_a_task: object
) -> None:
    pool = chapter.pool(workers=1, name=unique())
    with pytest.raises(TypeError, match="callable"):
        pool.submit(not_a_task)
    ran = threading.Event()
    pool.submit(ran.set)
    assert ran.wait(DEADLOCK), "the pool stopped working after refusing bad input"


@pytest.mark.feature("bad_input")
@pytest.mark.parametrize("workers", [0, -1, True, 1.5, "2"])
def test_a_bad_worker_count_is_refused_at_construction(
    chapter: Chapter, workers: object
) -> None:
    with pytest.raises(ValueError, match="workers"):
        chapter.module.WorkerPool("general", workers=workers)


@pytest.mark.feature("bad_input", "task_system")
def test_a_task_system_refuses_a_non_callable_and_bad_worker_counts(
    chapter: Chapter,
) -> None:
    tasks = chapter.task_system(general=1, site=1)
    with pytest.raises(TypeError, match="callable"):
        tasks.submit("general", "not a function")
    with pytest.raises(ValueError, match="workers"):
        chapter.task_system(general=0)


# -- task_system -----------------------------------------------------------


@pytest.mark.feature("task_system")
def test_the_default_task_system_is_the_seed_general_2_site_10(
    chapter: Chapter,
) -> None:
    tasks = chapter.task_system()
    assert sorted(tasks.pools) == ["general", "site"]
    assert (tasks["general"].workers, tasks["site"].workers) == (2, 10)
    assert "site" in tasks and "email" not in tasks


@pytest.mark.feature("task_system")
def test_an_unknown_pool_is_a_key_error_naming_the_known_pools(
    chapter: Chapter,
) -> None:
    tasks = chapter.task_system(general=1, site=1)
    called: list[object] = []
    with pytest.raises(KeyError, match=r"'emails'.*\['general', 'site'\]"):
        tasks["emails"]
    with pytest.raises(KeyError, match=r"\['general', 'site'\]"):
        tasks.submit("emails", called.append, 1)
    assert tasks.join(DEADLOCK)
    assert called == [], "a task submitted to an unknown pool ran somewhere"


@pytest.mark.feature("task_system")
def test_a_hand_built_pool_must_carry_its_key_as_name(chapter: Chapter) -> None:
    with pytest.raises(ValueError, match="named"):
        chapter.task_system(general=chapter.module.WorkerPool("site", workers=1))


@pytest.mark.feature("task_system")
def test_a_general_task_runs_while_every_site_worker_is_blocked(
    chapter: Chapter,
) -> None:
    tasks = chapter.task_system()
    try:
        assert email_runs_while_analyses_block(
            tasks, site_workers=10, analyses=15, timeout=DEADLOCK
        ), "the email waited behind blocked site tasks"
    finally:
        chapter.finish(tasks)


@pytest.mark.feature("task_system")
def test_general_workers_never_run_site_tasks(chapter: Chapter) -> None:
    tasks = chapter.task_system(general=2, site=3)
    ran_on: dict[str, set[str]] = {"general": set(), "site": set()}
    lock = threading.Lock()

    def record(pool: str) -> None:
        with lock:
            ran_on[pool].add(threading.current_thread().name)

    for _ in range(30):
        tasks.submit("site", record, "site")
        tasks.submit("general", record, "general")
    assert tasks.join(DEADLOCK)
    assert ran_on["general"] and ran_on["site"]
    assert ran_on["general"].isdisjoint(ran_on["site"]), (
        "a worker thread ran both general and site tasks"
    )
    chapter.finish(tasks)


@pytest.mark.feature("task_system", "lazy_start")
def test_a_task_system_starts_only_the_pool_that_gets_work(chapter: Chapter) -> None:
    general, site = unique("general"), unique("site")
    # Pools named uniquely, so that their threads can be told apart from other tests'.
    tasks = chapter.task_system(**{general: 2, site: 4})
    assert worker_threads(general) == [] and worker_threads(site) == []
    tasks.submit(general, lambda: None)
    assert tasks.join(DEADLOCK)
    assert len(worker_threads(general)) == 2
    assert worker_threads(site) == [], (
        "a submit to one pool started another pool's workers"
    )
    chapter.finish(tasks)


# -- bounded ---------------------------------------------------------------


@pytest.mark.feature("bounded")
def test_a_full_bounded_queue_refuses_at_the_caller_and_loses_nothing_it_accepted(
    chapter: Chapter,
) -> None:
    pool = chapter.pool(workers=1, maxsize=2, name=unique())
    gate = Gate()
    try:
        pool.submit(gate.task)
        assert gate.wait_until_entered(1)  # the worker is busy; the queue is empty
        pool.submit(gate.task)
        pool.submit(gate.task)
        with pytest.raises(chapter.module.QueueFullError, match="full"):
            pool.submit(gate.task)
    finally:
        gate.open()
    assert pool.join(DEADLOCK)
    assert gate.entered == 3, "a task the pool accepted did not run"
    pool.submit(gate.task)  # room again
    assert pool.join(DEADLOCK) and gate.entered == 4


@pytest.mark.feature("bounded")
@pytest.mark.parametrize("maxsize", [-1, 2.5, "10"])
def test_a_bad_maxsize_is_refused_at_construction(
    chapter: Chapter, maxsize: object
) -> None:
    with pytest.raises(ValueError, match="maxsize"):
        chapter.module.WorkerPool("general", workers=1, maxsize=maxsize)


@pytest.mark.feature("bounded", "task_system")
def test_a_full_site_queue_never_refuses_or_delays_a_general_submit(
    chapter: Chapter,
) -> None:
    site = chapter.module.WorkerPool("site", workers=2, maxsize=1)
    tasks = chapter.task_system(general=2, site=site)
    gate = Gate()
    sent = threading.Event()
    try:
        for n in (1, 2):
            tasks.submit("site", gate.task)
            assert gate.wait_until_entered(n)
        tasks.submit("site", gate.task)
        with pytest.raises(chapter.module.QueueFullError):
            tasks.submit("site", gate.task)
        tasks.submit("general", sent.set)
        assert sent.wait(DEADLOCK), (
            "the general task did not run while the site pool was full"
        )
    finally:
        gate.open()
        chapter.finish(tasks)


# -- the suite can fail ----------------------------------------------------
# The same tests, pointed at broken pseudo-chapters, must fail. Deadlock timeouts
# are shortened only where the awaited event can never happen on the broken variant.


def test_the_suite_catches_a_worker_that_dies_of_a_task(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    naive = broken_chapter(
        "naive", {"worker", "survives_errors", "lazy_start"}, Worker=NaiveWorker
    )
    monkeypatch.setattr(sys.modules[__name__], "DEADLOCK", IMPOSSIBLE)
    with thread_deaths() as deaths, pytest.raises(AssertionError, match="never ran"):
        test_a_worker_survives_a_raising_task_and_logs_it(
            naive, RuntimeError("boom"), caplog
        )
    assert wait_for(lambda: len(deaths) == 1)


def test_the_suite_catches_one_shared_queue_posing_as_two_pools(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared = broken_chapter(
        "shared",
        {"task_system", "shutdown"},
        TaskSystem=SharedPoolSystem,
        WorkerPool=dualqueue.WorkerPool,
    )
    monkeypatch.setattr(sys.modules[__name__], "DEADLOCK", IMPOSSIBLE)
    with pytest.raises(AssertionError, match="waited behind blocked site tasks"):
        test_a_general_task_runs_while_every_site_worker_is_blocked(shared)
    monkeypatch.setattr(sys.modules[__name__], "DEADLOCK", 10.0)
    with pytest.raises(AssertionError, match="ran both general and site tasks"):
        test_general_workers_never_run_site_tasks(shared)


def test_the_suite_catches_a_pool_that_checks_nothing_at_the_caller() -> None:
    # Chapter 2's worker as a "pool": it takes a non-callable and fails later, in the
    # thread.
    lax = broken_chapter(
        "lax", {"bad_input"}, WorkerPool=lambda name, workers: Worker(name)
    )
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        test_a_non_callable_is_refused_at_the_caller(lax, 42)
