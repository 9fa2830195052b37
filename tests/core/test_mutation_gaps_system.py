"""What the task system promises that no other test checked: found by mutation testing.

``make mutation`` left these lines of ``dualqueue/system.py`` changeable with
every test still passing: the refusals that name what was wrong, the default
exit budget, ``join()`` without a timeout, the exit hook's log records (their
level, text, and that a blocking log handler cannot hold up the exit), and
what a forked child's system starts from. The fork handler is called here in
this process, as ``os.fork()`` calls it in the child, so that the checks run
where a test can see them.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from dualqueue import FakeClock, PoolClosedError, TaskSystem
from dualqueue import pool as pool_module
from dualqueue import system as system_module
from dualqueue.periodic import Every

from .support import DEADLOCK, Blocking, wait_for

LOGGER = "dualqueue"
WALL = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def _raise(exc: BaseException) -> None:
    raise exc


def bounded(fn: Callable[[], Any]) -> Any:
    """``fn()`` on another thread, waited for DEADLOCK at most: a lock that is
    never released fails the test instead of hanging it."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(DEADLOCK)
    assert not thread.is_alive(), "blocked on a lock held at the fork"
    if errors:
        raise errors[0]
    return result[0]


def test_an_unknown_or_unhashable_pool_name_is_refused_naming_the_pools() -> None:
    tasks = TaskSystem(general=1, site=1, clock=FakeClock())
    with pytest.raises(KeyError, match=r"a pool name is a string, got list; the pools are \['general', 'site'\]"):
        tasks[["general"]]  # type: ignore[index]
    with pytest.raises(KeyError, match=r"no pool named 'mail'; the pools are \['general', 'site'\]"):
        tasks.submit_after("mail", 5, print)
    with pytest.raises(KeyError, match=r"a pool name is a string, got dict"):
        tasks.submit_after({}, 5, print)  # type: ignore[arg-type]
    assert tasks["general"].snapshot()["scheduled"] == 0
    tasks.shutdown(DEADLOCK)


def test_the_pools_built_here_get_the_documented_exit_budget() -> None:
    assert TaskSystem(clock=FakeClock())["general"].exit_timeout == 30.0
    assert TaskSystem(general=1, clock=FakeClock(), exit_timeout=4)["general"].exit_timeout == 4.0


def test_join_without_a_timeout_waits_for_every_pool() -> None:
    tasks = TaskSystem(general=1, site=2)
    ran: list[str] = []
    for queue in ("general", "site", "site"):
        tasks.submit(queue, ran.append, queue)
    assert tasks.join() is True
    assert sorted(ran) == ["general", "site", "site"]
    tasks.shutdown(DEADLOCK)


@pytest.mark.parametrize("call", ["join", "shutdown"])
def test_waiting_for_the_system_from_its_own_worker_is_refused_naming_the_call(call: str) -> None:
    tasks = TaskSystem(general=1)
    seen: list[BaseException] = []

    def task() -> None:
        try:
            getattr(tasks, call)(DEADLOCK)
        except RuntimeError as exc:
            seen.append(exc)

    tasks.submit("general", task)
    assert tasks["general"].join(DEADLOCK)
    (error,) = seen
    assert str(error) == (
        f"{call}() called from a worker of the 'general' pool would wait for itself; call it from another thread"
    )
    tasks.shutdown(DEADLOCK)


def test_a_periodic_task_declared_after_shutdown_is_refused_by_name() -> None:
    tasks = TaskSystem(general=1, clock=FakeClock())
    tasks.shutdown(DEADLOCK)
    with pytest.raises(PoolClosedError, match=r"^'general' pool is shut down; periodic task 'report' not started$"):
        tasks.every("report", Every(60), print)
    assert tasks.periodics == {}


# -- the exit hook -------------------------------------------------------------


def only(monkeypatch: pytest.MonkeyPatch, tasks: TaskSystem) -> None:
    # Only this test's objects: the real hook would also drain every other test's pools.
    monkeypatch.setattr(system_module, "_live_systems", weakref.WeakSet([tasks]))
    monkeypatch.setattr(pool_module, "_live_pools", weakref.WeakSet(tasks.pools.values()))


def test_the_exit_hook_logs_a_failed_flush_and_its_drain_without_a_log_handler_holding_it_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tasks = TaskSystem(general=1, clock=FakeClock())
    failure = RuntimeError("index unreachable")
    bad = tasks.debouncer("index", print, wait=3600)
    monkeypatch.setattr(bad, "close", lambda: _raise(failure))
    general = tasks["general"]
    general.submit(wait_for, lambda: general.closed)  # running, nothing queued, when the hook drains
    assert wait_for(lambda: general.snapshot()["running"] == 1)
    only(monkeypatch, tasks)
    logger = logging.getLogger(LOGGER)
    handler = Blocking(wait=DEADLOCK * 2)  # longer than the test waits for the hook
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    hook = threading.Thread(target=system_module._at_exit, daemon=True)
    try:
        hook.start()
        hook.join(DEADLOCK)
        returned = not hook.is_alive()
    finally:
        handler.unblock.set()
        logger.removeHandler(handler)
        logger.setLevel(level)
    hook.join(DEADLOCK)
    assert returned, "a blocking log handler held up the exit hook"
    assert general.closed

    def record(text: str) -> logging.LogRecord | None:
        return next((r for r in handler.seen if text in r.getMessage()), None)

    assert wait_for(lambda: record("flushing") is not None and record("exit drain") is not None)
    flush = record("flushing")
    assert flush is not None and flush.levelno == logging.ERROR
    assert flush.getMessage() == "dualqueue: flushing debouncer index at exit failed"
    assert flush.exc_info is not None and flush.exc_info[1] is failure
    # One task was running and none queued: the drain still says what it did.
    drained = record("exit drain")
    assert drained is not None and drained.levelno == logging.INFO
    assert re.fullmatch(
        r"dualqueue: exit drain finished 1 task\(s\), dropped 0, left 0 running, in \d+\.\d\ds",
        drained.getMessage(),
    ), drained.getMessage()


def test_the_exit_hook_drains_even_when_cancelling_the_periodic_tasks_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = TaskSystem(general=1, clock=FakeClock())
    ran = threading.Event()
    tasks.submit("general", ran.set)
    only(monkeypatch, tasks)
    monkeypatch.setattr(system_module, "cancel_periodics", lambda: _raise(KeyboardInterrupt()))
    system_module._at_exit()
    assert tasks["general"].closed and ran.is_set()


# -- fork ----------------------------------------------------------------------


def test_a_forked_childs_system_starts_its_picture_at_the_fork_with_fresh_locks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock(wall_start=WALL)
    tasks = TaskSystem(general=1, clock=clock)
    assert tasks.snapshot()["started_at"] == "2023-11-14T22:13:20.000+00:00"
    clock.advance(60)
    monkeypatch.setattr(system_module, "_live_systems", weakref.WeakSet([tasks]))
    registry = system_module._registry_lock
    monkeypatch.setattr(system_module, "_registry_lock", registry)  # restored afterwards
    # A parent thread held both locks at the fork: in the child nobody releases them.
    held = tasks._lock
    held.acquire()
    registry.acquire()
    try:
        system_module._restart_systems_in_child()  # what os.fork() runs in the child
        snapshot = bounded(tasks.snapshot)
        bounded(lambda: tasks.debouncer("late", print, wait=1))
        bounded(lambda: TaskSystem(general=1, clock=clock))
    finally:
        held.release()
        registry.release()
    # The child's counters begin at the fork, so its picture starts there too.
    assert snapshot["started_at"] == "2023-11-14T22:14:20.000+00:00"
    assert snapshot["pid"] > 0 and "late" in tasks.debouncers
