"""Exercise 10 checks: no thread before the first submit, and fresh, empty, working
pools in a forked child.

The fork checks run ``os.fork()`` from the test and do their part in the child,
which reports back through a pipe and leaves with ``os._exit``. The child
decides without waiting out a timeout: either its task runs, or no worker
thread of the pool is alive there (and then nothing can ever run it).
"""

from __future__ import annotations

import json
import os
import select
import signal
import threading
from collections.abc import Callable
from typing import Any

import pytest

from exercises.explore import locks_held, preemptions
from exercises.support import DEADLOCK, Gate, explain, wait_for
from exercises.target import load

pool = load("ex10_fork_safe_start", "pool")
WorkerPool = pool.WorkerPool

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork"), reason="os.fork() is POSIX only"
)


def live_workers(name: str) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith(f"dualqueue-{name}-") and t.is_alive()
    ]


def in_child(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``check()`` in a forked child; return what it returned (or what went
    wrong)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and leave without running the parent's exit code
        try:
            os.close(read_end)
            try:
                result = check()
            except BaseException as exc:
                result = {"error": repr(exc)}
            os.write(write_end, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([read_end], [], [], DEADLOCK)
            if not ready:
                os.kill(pid, signal.SIGKILL)
                return {
                    "error": f"the child was stuck for {DEADLOCK:g} s (a deadlock in "
                    "the child?)"
                }
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    return json.loads(b"".join(chunks) or b'{"error": "the child reported nothing"}')


def child_submits(p: WorkerPool) -> dict[str, Any]:
    """In the child: is any lock held, is anything queued, and does a submitted task
    run?"""
    if locks_held(p):
        return {"lock_held": True}
    queued_before = p.queued
    ran = threading.Event()
    p.submit(ran.set)
    wait_for(lambda: ran.is_set() or not live_workers(p.name))
    return {"lock_held": False, "queued_before": queued_before, "ran": ran.is_set(),
            "workers": len(live_workers(p.name))}


# --8<-- [start:lazy]
def test_making_a_pool_starts_no_thread() -> None:
    p = WorkerPool("lazy", workers=2)
    started = len(live_workers("lazy"))
    assert started == 0, explain(
        expected="no worker thread until the first submit",
        got=f"{started} worker threads running right after WorkerPool(...)",
        usually="__init__ starts the workers. Under gunicorn --preload the pool is "
        "made in the master, which then forks: the threads stay behind in the master. "
        "Start them in the first submit",
    )
    done = threading.Event()
    p.submit(done.set)
    assert done.wait(DEADLOCK) and len(live_workers("lazy")) == 2, explain(
        expected="the first submit to start the 2 workers and run the task",
        got=f"task ran: {done.is_set()}, workers alive: {len(live_workers('lazy'))}",
        usually="submit queues the task but never starts the workers",
    )
# --8<-- [end:lazy]


# --8<-- [start:fork]
def test_a_child_forked_after_the_pool_ran_tasks_gets_a_working_pool() -> None:
    p = WorkerPool("forked", workers=2)
    p.submit(lambda: None)
    assert p.join(timeout=DEADLOCK)
    report = in_child(lambda: child_submits(p))
    assert report.get("ran") is True, explain(
        expected="a task submitted in the forked child to run there",
        got=f"the child reported {report}",
        usually="the child's pool still lists the parent's worker threads, which did "
        "not survive the fork, so it starts none of its own. Reset the pool in the "
        "child (os.register_at_fork(after_in_child=...))",
    )
# --8<-- [end:fork]


def test_the_parents_backlog_does_not_run_in_the_child() -> None:
    p = WorkerPool("backlog", workers=1)
    gate = Gate()
    marks: list[str] = []
    try:
        p.submit(gate.task)
        assert gate.wait_until_entered(1)
        for n in range(3):
            p.submit(marks.append, f"parent-{n}")
        report = in_child(lambda: {**child_submits(p), "marks": list(marks)})
    finally:
        gate.open()
    assert (
        report.get("queued_before") == 0
        and report.get("marks") == []
        and report.get("ran") is True
    ), explain(
        expected="the child's pool to start empty (queued 0), run its own task, and "
        "none of the parent's",
        got=f"the child reported {report}",
        usually="the queue copied by fork() is kept: the parent's 3 tasks would run "
        "once in the parent and once more in every child. The child's pool needs an "
        "empty queue of its own",
    )


def test_a_lock_held_at_the_moment_of_the_fork_is_free_in_the_child() -> None:
    p = WorkerPool("locked", workers=1)
    p.submit(lambda: None)
    assert p.join(timeout=DEADLOCK)
    holding, release = threading.Event(), threading.Event()

    # another thread inside submit() (or a snapshot) at the moment of fork()
    def hold_the_mutex() -> None:
        with p._mutex:
            holding.set()
            release.wait(DEADLOCK)

    holder = threading.Thread(target=hold_the_mutex)
    holder.start()
    try:
        assert holding.wait(DEADLOCK)
        report = in_child(lambda: child_submits(p))
    finally:
        release.set()
        holder.join(DEADLOCK)
    assert report.get("lock_held") is False and report.get("ran") is True, explain(
        expected="the child to find the pool's locks free and run its task",
        got=f"the child reported {report}",
        usually="the child kept the parent's mutex, which another thread held at the "
        "moment of the fork: that thread does not exist in the child, so the mutex is "
        "never released and the first submit deadlocks. Make new locks in the child",
    )


def test_two_pools_each_start_their_own_workers() -> None:
    general, site = (
        WorkerPool("own-general", workers=1),
        WorkerPool("own-site", workers=2),
    )
    ran = [threading.Event(), threading.Event()]
    general.submit(ran[0].set)
    site.submit(ran[1].set)
    wait_for(lambda: all(event.is_set() for event in ran))
    got = (
        len(live_workers("own-general")),
        len(live_workers("own-site")),
        [event.is_set() for event in ran],
    )
    assert got == (1, 2, [True, True]), explain(
        expected="1 general worker and 2 site workers alive, and each pool's task run",
        got=f"{got[0]} general and {got[1]} site workers; tasks run: {got[2]}",
        usually="the list of worker threads is state shared between instances (a class "
        "attribute, or a mutable default argument): the second pool sees the first "
        "one's threads and starts none. Make it per pool",
    )


@pytest.mark.budget(10)  # an exploration: under 0.4 s on the solution
def test_two_first_submits_at_once_start_the_workers_once() -> None:
    # Two requests make the first submits to a fresh pool at the same moment: however
    # they interleave, the pool must end up with its 2 workers, not 4.
    explored = preemptions(
        lambda: WorkerPool("racing", workers=2),
        lambda p: p.submit(print, end=""),
        lambda p: p.submit(print, end=""),
        files=[pool.__file__],
        blocked=locks_held,
    )
    doubled = [p for p in explored if len(p.subject._threads) != 2]
    # each pool's workers are idle: let them go (they are daemon threads anyway)
    for p in explored:
        p.subject.join(timeout=DEADLOCK)
    shown = doubled[0] if doubled else None
    assert explored and shown is None, explain(
        expected="2 worker threads after two submits at once to a fresh pool of 2",
        got=f"{len(shown.subject._threads)} workers, when the first submit was stopped "
        f"at {shown.where} and the second ran"
        if shown
        else "nothing explored",
        usually="the workers are started lazily by a check-then-act outside the mutex "
        "(`if not self._threads:`): both submits see no workers and both start them. "
        "Check and start under the mutex",
    )
