"""The public API's contract: bad input fails at the caller, workers survive anything, snapshots tell the truth."""

from __future__ import annotations

import doctest
import json
import logging
import math
import threading

import dualqueue
import pytest
from dualqueue import (
    Debouncer,
    FakeClock,
    QueueFullError,
    Retry,
    SystemClock,
    TaskSystem,
    WorkerPool,
)
from dualqueue.retry import task_name
from dualqueue.stats import ErrorRecord

from .interleave import consistent
from .support import DEADLOCK, Gate, boom, wait_for


@pytest.mark.parametrize("module", [dualqueue, dualqueue.clock])
def test_docstring_examples_run(module) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# -- bad input fails at the caller ------------------------------------------------


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_a_pool_needs_at_least_one_worker(workers) -> None:
    with pytest.raises(ValueError, match="workers must be an int >= 1"):
        WorkerPool("p", workers=workers)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"name": ""}, "non-empty name"), ({"maxsize": -1}, "maxsize"), ({"exit_timeout": -1}, "exit_timeout"),
     ({"dead_letters": -2}, "dead_letters")],
)
def test_pool_settings_are_checked(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        WorkerPool(**{"name": "p", **kwargs})


def test_submitting_a_non_callable_fails_at_the_caller() -> None:
    pool = WorkerPool("p")
    with pytest.raises(TypeError, match="must be callable, got str"):
        pool.submit("send_email")
    assert pool.snapshot()["submitted"] == 0 and not pool.snapshot()["started"]


def test_an_unknown_pool_is_a_key_error_naming_the_known_pools() -> None:
    tasks = TaskSystem()
    with pytest.raises(KeyError, match=r"no pool named 'email'; the pools are \['general', 'site'\]"):
        tasks.submit("email", print)
    with pytest.raises(KeyError, match="a pool name is a string"):
        tasks[["general"]]  # type: ignore[index]
    assert "general" in tasks and "email" not in tasks


def test_a_full_bounded_queue_refuses_at_the_caller_and_counts_it() -> None:
    pool = WorkerPool("bounded", workers=1, maxsize=2)
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    pool.submit(gate.task)
    pool.submit(gate.task)
    with pytest.raises(QueueFullError, match="queue is full"):
        pool.submit(gate.task)
    snap = pool.snapshot()
    assert (snap["queued"], snap["rejected"], snap["submitted"]) == (2, 1, 3)
    gate.open()
    assert pool.join(DEADLOCK)


def test_system_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="was given a WorkerPool named 'x'"):
        TaskSystem(general=WorkerPool("x"))
    tasks = TaskSystem()
    tasks.debouncer("index", print)
    with pytest.raises(ValueError, match="already exists"):
        tasks.debouncer("index", print)
    with pytest.raises(KeyError, match="no pool named 'nope'"):
        tasks.debouncer("other", print, pool="nope")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"wait": -1}, ValueError), ({"wait": math.nan}, ValueError), ({"wait": 5, "max_wait": 4}, ValueError),
     ({"pool": "general"}, TypeError)],
)
def test_debouncer_settings_are_checked(kwargs, error) -> None:
    with pytest.raises(error):
        Debouncer(print, **kwargs)
    with pytest.raises(TypeError, match="needs a callable"):
        Debouncer("rebuild")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [{"attempts": 0}, {"base_delay": -1}, {"max_delay": math.inf}, {"factor": 0.5}, {"jitter": 2},
     {"retry_on": ()}, {"retry_on": ("TimeoutError",)}],
)
def test_retry_settings_are_checked(kwargs) -> None:
    with pytest.raises((ValueError, TypeError)):
        Retry(**kwargs)
    with pytest.raises(TypeError, match="needs a callable"):
        Retry()(42)  # type: ignore[arg-type]


def test_clocks_refuse_negative_delays() -> None:
    for clock in (FakeClock(), SystemClock()):
        with pytest.raises(ValueError, match="delay must be"):
            clock.call_later(-1, print)
    with pytest.raises(ValueError):
        FakeClock().advance(math.nan)


# -- a worker never dies of a task ---------------------------------------------


@pytest.mark.parametrize("exc", [RuntimeError("x"), SystemExit(2), KeyboardInterrupt(), MemoryError()])
def test_a_worker_survives_whatever_a_task_raises(exc: BaseException) -> None:
    pool = WorkerPool("p", workers=2)

    def raise_it() -> None:
        raise exc

    for _ in range(4):
        pool.submit(raise_it)
    ran = threading.Event()
    pool.submit(ran.set)
    assert ran.wait(DEADLOCK) and pool.join(DEADLOCK)
    snap = pool.snapshot()
    assert (snap["failed"], snap["succeeded"], snap["alive_workers"]) == (4, 1, 2)
    assert snap["last_error"]["type"] == type(exc).__qualname__
    pool.shutdown(DEADLOCK)


def test_last_error_is_short_and_carries_no_arguments_or_traceback() -> None:
    long = ErrorRecord.of(ValueError("x" * 500 + "\nsecond line"), 0.0)
    assert len(long.message) == 200 and "\n" not in long.message
    assert ErrorRecord.of(KeyError(), 0.0).message == ""
    assert ErrorRecord.of(json.JSONDecodeError("bad", "doc", 0), 0.0).error_type == "json.decoder.JSONDecodeError"


# -- lazy start, join, snapshot ---------------------------------------------------


def test_creating_a_system_starts_no_thread() -> None:
    before = threading.active_count()
    tasks = TaskSystem()
    assert threading.active_count() == before
    assert not any(p["started"] for p in tasks.snapshot()["pools"].values())


def test_join_times_out_while_work_is_outstanding() -> None:
    pool = WorkerPool("general", workers=1)
    gate = Gate()
    pool.submit(gate.task)
    assert not pool.join(timeout=0.01)
    tasks = TaskSystem(general=pool)
    assert not tasks.join(timeout=0.01)
    gate.open()
    assert tasks.join(timeout=DEADLOCK)


def test_the_snapshot_is_json_and_shows_ages_and_levels() -> None:
    clock = FakeClock()
    tasks = TaskSystem(clock=clock, general=1, site=1)
    gate = Gate()
    tasks.submit("site", gate.task)
    assert gate.wait_until_entered(1)
    tasks.submit("site", print)
    clock.advance(7)
    tasks.debouncer("index", print).trigger("doc-1")
    snap = json.loads(json.dumps(tasks.snapshot()))
    site = snap["pools"]["site"]
    assert (site["running"], site["queued"], site["oldest_queued_seconds"], site["oldest_running_seconds"]) == (
        1, 1, 7.0, 7.0,
    )
    assert snap["pid"] and snap["started_at"].endswith("+00:00")
    assert snap["debouncers"]["index"]["pending_items"] == 1
    assert snap["debouncers"]["index"]["next_run_in"] == 15.0
    assert consistent(site)
    assert repr(tasks) == "<TaskSystem general=1, site=1>" and "site" in repr(tasks["site"])
    assert set(tasks.pools) == {"general", "site"} and set(tasks.debouncers) == {"index"}
    gate.open()
    assert tasks.join(DEADLOCK)


def test_failures_are_logged_with_their_traceback(caplog) -> None:
    pool = WorkerPool("logged", workers=1)
    with caplog.at_level(logging.ERROR, logger="dualqueue"):
        pool.submit(boom)
        assert pool.join(DEADLOCK)
        assert wait_for(lambda: caplog.records), "nothing was logged"  # logged just after the count
    record = caplog.records[-1]
    assert "tests.core.support.boom failed in pool 'logged'" in record.getMessage()
    assert record.exc_info and record.exc_info[0] is RuntimeError


def test_task_names_never_include_arguments() -> None:
    import functools

    assert task_name(functools.partial(boom)) == "tests.core.support.boom"
    assert task_name(Retry()(boom)) == "tests.core.support.boom"
    assert task_name(print) == "builtins.print"

    class Callable:
        def __call__(self) -> None: ...

    assert task_name(Callable()).endswith("Callable")


def test_the_exit_hook_flushes_debouncers_then_drains_every_live_pool(monkeypatch, caplog) -> None:
    import weakref

    from dualqueue import pool as pool_module
    from dualqueue import system as system_module

    tasks = TaskSystem(general=1, site=1)
    loose = WorkerPool("loose", workers=1)
    indexed: list[list[str]] = []
    tasks.debouncer("index", indexed.append, wait=3600).trigger("doc")
    loose.submit(wait_for, lambda: loose.closed)  # certainly running when the hook closes the pool
    # Only this test's objects: the real hook would also close every other test's pools.
    monkeypatch.setattr(system_module, "_live_systems", weakref.WeakSet([tasks]))
    monkeypatch.setattr(pool_module, "_live_pools", weakref.WeakSet([*tasks.pools.values(), loose]))
    with caplog.at_level(logging.INFO, logger="dualqueue"):
        system_module._at_exit()
    assert indexed == [["doc"]]
    assert all(p.closed for p in (*tasks.pools.values(), loose))
    assert "dropped 0, left 0 running" in caplog.text
