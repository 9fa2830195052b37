"""The recent-task ring: bounded, honest about outcomes, and safe against hostile task names."""

from __future__ import annotations

import threading

import pytest
from dualqueue import FakeClock, WorkerPool
from dualqueue.recent import RecentTasks

DEADLOCK = 10.0


def named(name: str) -> object:
    def fn() -> None:
        return None

    fn.__qualname__ = name
    return fn


def test_the_ring_keeps_only_the_last_limit_tasks_oldest_first() -> None:
    ring = RecentTasks(limit=3)
    for i in range(10):
        ring.record(named(f"t{i}"), enqueued_at=i, started=i + 0.5, finished=i + 2.0, finished_wall=1e9 + i)
    kept = ring.snapshot()
    assert [entry["task"].rsplit(".", 1)[-1] for entry in kept] == ["t7", "t8", "t9"]
    assert len(ring) == 3
    assert kept[-1]["wait_seconds"] == 0.5 and kept[-1]["run_seconds"] == 1.5
    assert kept[-1]["outcome"] == "succeeded" and kept[-1]["error_type"] is None


def test_a_zero_limit_keeps_nothing_and_a_bad_limit_fails_at_the_caller() -> None:
    ring = RecentTasks(limit=0)
    ring.record(named("t"), 0.0, 0.0, 1.0, 1e9)
    assert ring.snapshot() == []
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="limit"):
            RecentTasks(limit=bad)  # type: ignore[arg-type]


class HostileName:
    """A callable whose every name attribute raises: reading it is user code."""

    def __call__(self) -> None:
        return None

    def __getattribute__(self, attr: str) -> object:
        if attr in {"task_name", "__qualname__", "__module__", "fn", "func"}:
            raise SystemExit("no name for you")
        return object.__getattribute__(self, attr)


def test_a_task_whose_name_raises_is_recorded_by_its_type_and_the_worker_goes_on() -> None:
    pool = WorkerPool("general", workers=1)
    try:
        pool.submit(HostileName())
        pool.submit(named("after"))
        assert pool.join(timeout=DEADLOCK)
        recent = pool.snapshot()["recent"]
        # The core's task_name falls back to the callable's type (never user code).
        assert recent[0]["task"] == f"{__name__}.HostileName"
        assert recent[1]["task"].endswith("after")
        assert pool.snapshot()["alive_workers"] == 1
    finally:
        pool.shutdown(timeout=DEADLOCK)


def test_the_pool_records_wait_run_and_outcome_of_each_finished_task() -> None:
    clock = FakeClock()
    release = threading.Event()
    pool = WorkerPool("site", workers=1, clock=clock)

    def slow() -> None:
        assert release.wait(DEADLOCK)

    def broken() -> None:
        raise ValueError("bad polygon")

    try:
        pool.submit(slow)
        pool.submit(broken)
        clock.advance(2.0)  # slow is running; broken waits behind it
        release.set()
        assert pool.join(timeout=DEADLOCK)
        recent = pool.snapshot()["recent"]
        assert [entry["task"].rsplit(".", 1)[-1] for entry in recent] == ["slow", "broken"]
        assert [entry["outcome"] for entry in recent] == ["succeeded", "raised"]
        assert recent[1]["error_type"] == "ValueError"
        # broken waited behind slow for the whole fake interval; nothing else moved the clock
        assert recent[1]["wait_seconds"] == pytest.approx(2.0)
        assert recent[1]["run_seconds"] == 0.0
        assert set(recent[0]) == {"task", "wait_seconds", "run_seconds", "outcome", "error_type", "finished_at"}
    finally:
        pool.shutdown(timeout=DEADLOCK)


def test_the_ring_holds_no_reference_to_the_task() -> None:
    import gc
    import weakref

    class Task:
        def __call__(self) -> None:
            return None

    task = Task()
    ref = weakref.ref(task)
    pool = WorkerPool("general", workers=1)
    try:
        pool.submit(task)
        del task
        assert pool.join(timeout=DEADLOCK)
        gc.collect()
        assert ref() is None, "the ring (or the pool) kept the task object alive"
        assert pool.snapshot()["recent"][0]["task"].endswith("Task")
    finally:
        pool.shutdown(timeout=DEADLOCK)


def test_an_error_whose_class_name_cannot_be_read_is_recorded_without_it() -> None:
    class Meta(type):
        def __getattribute__(cls, name: str) -> object:
            if name == "__qualname__":
                raise RuntimeError("no name")
            return super().__getattribute__(name)

    class Nameless(Exception, metaclass=Meta):
        pass

    ring = RecentTasks(limit=2)
    ring.record(named("t"), 0.0, 1.0, 2.0, 1e9, Nameless())
    assert ring.snapshot()[0]["error_type"] == "<unnamed error>"
    assert ring.snapshot()[0]["outcome"] == "raised"
