"""Exercise 4 checks: a full bounded queue refuses a submit at once, in the caller's
thread, and counts it.

A worker blocked on a gate keeps the queue's contents fixed, so "the queue is
full" is a fact. Each submit that should be refused runs in a helper thread, so
that a submit that blocks instead is reported, not waited for forever.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from dualqueue import QueueFullError

from exercises.explore import locks_held, preemptions
from exercises.support import DEADLOCK, Gate, explain
from exercises.target import load

pool = load("ex04_bounded_queue", "pool")
WorkerPool = pool.WorkerPool


def outcome_of(call: Callable[[], object]) -> tuple[str, BaseException | None]:
    """("returned", None), ("raised", exc), or ("blocked", None) if the call had not
    returned after 10 s."""
    result: list[tuple[str, BaseException | None]] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            result.append(("raised", exc))
        else:
            result.append(("returned", None))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(DEADLOCK)
    return result[0] if result else ("blocked", None)


def send_report() -> None:
    pass


def accepted(p: WorkerPool, fn: Callable[..., object], *args: object) -> None:
    """Submit what must be accepted (the queue has room): a refusal here is the
    learner's mistake, explained."""
    try:
        p.submit(fn, *args)
    except QueueFullError as exc:
        raise AssertionError(
            explain(
                expected=f"this submit to be accepted: {p.queued} task(s) waiting, "
                f"maxsize={p.maxsize}",
                got=f"QueueFullError: {exc}",
                usually="the limit counts running tasks too; maxsize bounds the tasks "
                "*waiting* in the queue",
            )
        ) from None


# --8<-- [start:full]
def test_a_submit_to_a_full_queue_raises_queue_full_error_at_once() -> None:
    p = WorkerPool("site", workers=1, maxsize=2)
    gate = Gate()
    try:
        accepted(p, gate.task)
        # the worker is busy: what comes next waits in the queue
        assert gate.wait_until_entered(1)
        accepted(p, send_report)
        accepted(p, send_report)
        what, exc = outcome_of(lambda: p.submit(send_report))
    finally:
        gate.open()
    assert what == "raised" and isinstance(exc, QueueFullError), explain(
        expected="the third submit to a queue with maxsize=2 (two waiting) to raise "
        "QueueFullError",
        got={
            "returned": "it was accepted: the queue now holds 3 tasks",
            "blocked": f"it blocked the caller for {DEADLOCK:g} s",
            "raised": f"it raised {exc!r}",
        }[what],
        usually="submit does not compare len(self._queue) with self.maxsize before "
        "appending"
        if what == "returned"
        else "submit waits for room (like queue.Queue.put) instead of refusing",
    )
# --8<-- [end:full]


def test_the_refused_task_never_runs_and_the_refusal_is_counted_and_named() -> None:
    p = WorkerPool("site", workers=1, maxsize=1)
    gate = Gate()
    ran: list[str] = []
    try:
        accepted(p, gate.task)
        assert gate.wait_until_entered(1)
        accepted(p, ran.append, "accepted")
        _, exc = outcome_of(lambda: p.submit(ran.append, "refused"))
    finally:
        gate.open()
    assert p.join(timeout=DEADLOCK)
    assert ran == ["accepted"], explain(
        expected="only the accepted task to run: ['accepted']",
        got=repr(ran),
        usually="the task is appended to the queue before the check, or even when the "
        "check fails",
    )
    assert p.rejected == 1, explain(
        expected="rejected == 1 after one refused submit",
        got=f"rejected == {p.rejected}",
        usually="the refusal is not counted: overload would be invisible on the status "
        "page",
    )
    message = str(exc)
    assert "site" in message and "append" in message, explain(
        expected="the QueueFullError message to name the pool ('site') and the task "
        "('append')",
        got=repr(message),
        usually="a bare QueueFullError(): whoever reads the log cannot tell what was "
        "refused, or where",
    )


def test_running_tasks_do_not_count_against_maxsize() -> None:
    p = WorkerPool("site", workers=2, maxsize=1)
    gate = Gate()
    try:
        accepted(p, gate.task)
        assert gate.wait_until_entered(1)
        # the second worker is idle: this one runs at once
        start = outcome_of(lambda: p.submit(gate.task))
        assert start[0] == "returned", explain(
            expected="a submit to be accepted while one task runs, one worker is idle "
            "and none waits (maxsize=1)",
            got=f"it {start[0]}: {start[1]!r}",
            usually="the limit counts running tasks too; maxsize bounds the tasks "
            "*waiting* in the queue",
        )
        assert gate.wait_until_entered(2)
        first = outcome_of(lambda: p.submit(send_report))
        second = outcome_of(lambda: p.submit(send_report))
    finally:
        gate.open()
    assert first[0] == "returned", explain(
        expected="a submit to be accepted while two tasks run and none waits "
        "(maxsize=1)",
        got=f"it {first[0]}: {first[1]!r}",
        usually="the limit counts running tasks too; maxsize bounds the tasks "
        "*waiting* in the queue",
    )
    assert second[0] == "raised" and isinstance(second[1], QueueFullError), explain(
        expected="the next submit, with one task waiting, to raise QueueFullError",
        got=f"it {second[0]}",
        usually="maxsize is not enforced",
    )


def test_maxsize_0_means_unbounded_and_a_drained_queue_accepts_again() -> None:
    p = WorkerPool("general", workers=1, maxsize=0)
    gate = Gate()
    try:
        accepted(p, gate.task)
        assert gate.wait_until_entered(1)
        what, exc = outcome_of(lambda: [p.submit(send_report) for _ in range(100)])
    finally:
        gate.open()
    assert what == "returned", explain(
        expected="100 submits accepted by a pool with maxsize=0 (unbounded)",
        got=f"a submit {what}: {exc!r}",
        usually="maxsize=0 is treated as 'no room at all' instead of 'no limit'",
    )
    assert p.join(timeout=DEADLOCK)
    bounded = WorkerPool("bounded", workers=1, maxsize=1)
    for _ in range(3):  # each one is taken by the worker before the next arrives
        bounded.submit(send_report)
        assert bounded.join(timeout=DEADLOCK)
    assert bounded.rejected == 0, explain(
        expected="no refusal when the queue is empty at every submit",
        got=f"rejected == {bounded.rejected}",
        usually="the count of waiting tasks is not decreased when a worker takes one",
    )


@pytest.mark.parametrize("maxsize", [-1, 2.5, "10", True])
def test_a_bad_maxsize_fails_when_the_pool_is_made(maxsize: object) -> None:
    try:
        WorkerPool("site", workers=1, maxsize=maxsize)
    except ValueError as exc:
        assert "maxsize" in str(exc), explain(
            expected="the ValueError to say that maxsize is the problem",
            got=repr(str(exc)),
            usually="a message that does not name the bad argument",
        )
        return
    except Exception as exc:
        raise AssertionError(
            explain(
                expected=f"WorkerPool(maxsize={maxsize!r}) to raise ValueError, as the "
                "README promises",
                got=f"{type(exc).__name__}: {exc}",
                usually="maxsize is compared (or used) before its type is checked, so "
                "Python raises its own error first: check that it is an int (and not a "
                "bool) before comparing it",
            )
        ) from None
    raise AssertionError(
        explain(
            expected=f"WorkerPool(maxsize={maxsize!r}) to raise ValueError at once",
            got="the pool was made; the mistake would surface later, somewhere else",
            usually="maxsize is not checked in __init__ (True is an int in Python: "
            "reject bools explicitly)",
        )
    )


def busy_bounded_pool() -> tuple[WorkerPool, Gate, list[str]]:
    """A pool with maxsize=1 whose only worker is blocked: the next submit is accepted,
    the one after refused."""
    p = WorkerPool("site", workers=1, maxsize=1)
    gate = Gate()
    accepted(p, gate.task)
    assert gate.wait_until_entered(1)
    return p, gate, []


def submit_once(s: tuple[WorkerPool, Gate, list[str]]) -> None:
    try:
        s[0].submit(send_report)
    except QueueFullError:
        s[2].append("refused")
    else:
        s[2].append("accepted")


@pytest.mark.budget(10)  # an exploration: under 0.4 s on the solution
def test_two_submits_at_once_cannot_both_take_the_last_place() -> None:
    # Two requests submit at the same moment to a queue with room for one more task.
    # Whatever instruction of submit() one is stopped before while the other runs, one
    # must be refused.
    explored = preemptions(
        busy_bounded_pool,
        submit_once,
        submit_once,
        files=[pool.__file__],
        blocked=lambda s: locks_held(s[0]),
    )
    for p in explored:
        p.subject[1].open()
    overfull = [p for p in explored if sorted(p.subject[2]) != ["accepted", "refused"]]
    shown = overfull[0] if overfull else None
    # wrong in every interleaving, not only in some
    never_bounded = len(overfull) == len(explored)
    assert shown is None, explain(
        expected="one submit accepted and one refused: the queue (maxsize=1) had room "
        "for one task",
        got=f"{sorted(shown.subject[2])} when the first submit was stopped at "
        f"{shown.where} and the second ran",
        usually="maxsize is not enforced at all: see the first check"
        if never_bounded
        else "the check for room happens outside the mutex (check-then-act): both "
        "submits see one free place before either takes it. Check and append in the "
        "same `with self._mutex:` block",
    )
