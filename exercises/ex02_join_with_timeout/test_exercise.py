"""Exercise 2 checks: join(timeout) says True only when every task has finished, and
False at its deadline.

The tasks block on a gate the test controls, so "a task is still running" is a
fact, not a guess about timing. The short timeouts given to join() are the
thing under test (join must give up); the long ones only detect a deadlock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from exercises.explore import locks_held, preemptions
from exercises.support import DEADLOCK, Gate, explain, wait_for
from exercises.target import load

pool = load("ex02_join_with_timeout", "pool")
WorkerPool = pool.WorkerPool


def boom() -> None:
    raise RuntimeError("boom")


# --8<-- [start:running]
def test_join_says_false_while_the_last_task_is_still_running() -> None:
    p = WorkerPool("joiner", workers=1)
    gate = Gate()
    try:
        p.submit(gate.task)
        assert gate.wait_until_entered(1)
        # The queue is empty now: its only task was taken. It is not finished.
        finished = p.join(timeout=0.05)
    finally:
        gate.open()
    assert finished is False, explain(
        expected="join(timeout=0.05) -> False: a task was still running when the "
        "timeout passed",
        got=f"join returned {finished!r}",
        usually="join() looks at the queue, which is empty as soon as the last task is "
        "taken, not when it is finished. Count unfinished tasks (+1 at submit, -1 when "
        "a task is over) and wait for zero",
    )
# --8<-- [end:running]


def test_join_says_false_while_tasks_are_still_queued() -> None:
    p = WorkerPool("queued", workers=1)
    gate = Gate()
    try:
        p.submit(gate.task)
        assert gate.wait_until_entered(1)
        for _ in range(3):
            p.submit(lambda: None)
        finished = p.join(timeout=0.05)
    finally:
        gate.open()
    assert finished is False, explain(
        expected="join(timeout=0.05) -> False while one task runs and three wait",
        got=f"join returned {finished!r}",
        usually="join() does not count the tasks that are waiting in the queue",
    )


def test_when_join_says_true_every_task_has_finished() -> None:
    p = WorkerPool("finisher", workers=2)
    gate = Gate()
    done: list[int] = []
    lock = threading.Lock()

    def task(n: int) -> None:
        gate.task()
        with lock:
            done.append(n)

    for n in range(6):
        p.submit(task, n)
    assert gate.wait_until_entered(2)
    gate.open()
    finished = p.join(timeout=DEADLOCK)
    with lock:
        count = len(done)
    assert finished is True and count == 6, explain(
        expected="join() -> True, and all 6 tasks finished by the time it returned",
        got=f"join returned {finished!r} with {count} of 6 finished",
        usually="join() returns as soon as the queue is empty, while the last tasks "
        "are still running; or the count of unfinished tasks is decremented before the "
        "task has run",
    )


def test_a_failed_task_counts_as_finished() -> None:
    p = WorkerPool("failing", workers=1)
    p.submit(boom)
    p.submit(boom)
    finished = p.join(timeout=DEADLOCK)
    assert finished is True, explain(
        expected="join() -> True once both failing tasks are over",
        got=f"join returned {finished!r} after {DEADLOCK:g} s",
        usually="the unfinished count is only decremented after a success; do it in "
        "the finally: block",
    )


def test_join_on_an_idle_pool_returns_true_at_once() -> None:
    p = WorkerPool("idle", workers=2)
    assert p.join(timeout=0) is True, explain(
        expected="join(timeout=0) -> True on a pool that was never given a task",
        got="False",
        usually="the unfinished count does not start at 0, or join() waits before "
        "checking",
    )


def test_a_join_without_timeout_wakes_up_when_the_work_is_done() -> None:
    p = WorkerPool("sleeper", workers=1)
    gate = Gate()
    p.submit(gate.task)
    assert gate.wait_until_entered(1)
    results: list[bool] = []
    joiner = threading.Thread(target=lambda: results.append(p.join()), daemon=True)
    joiner.start()
    gate.open()
    joiner.join(DEADLOCK)
    assert results == [True], explain(
        expected="join() (no timeout) to return True once the running task finished",
        got=f"it was still waiting {DEADLOCK:g} s after the task finished"
        if not results
        else f"it returned {results[0]!r}",
        usually="the worker never notifies the condition join() waits on when the "
        "count reaches zero",
    )


def waiting_on_conditions(p: WorkerPool) -> int:
    """How many threads wait on the pool's conditions (whatever the learner named
    them)."""
    return sum(len(getattr(value, "_waiters", ())) for value in vars(p).values()
               if isinstance(value, threading.Condition))


def test_two_joins_waiting_at_once_both_wake_up() -> None:
    p = WorkerPool("watched", workers=1)
    gate = Gate()
    p.submit(gate.task)
    assert gate.wait_until_entered(1)
    results: list[object] = []
    joiners = [
        threading.Thread(target=lambda: results.append(p.join()), daemon=True)
        for _ in range(2)
    ]
    for joiner in joiners:
        joiner.start()
    both_waiting = wait_for(lambda: waiting_on_conditions(p) >= 2 or len(results) == 2)
    gate.open()
    for joiner in joiners:
        joiner.join(DEADLOCK)
    assert both_waiting and results == [True, True], explain(
        expected="both join() calls (a test and a shutdown, say), waiting at once, to "
        "return True when the task ends",
        got=f"{len(results)} of 2 returned ({results}); the other was still waiting "
        f"{DEADLOCK:g} s later",
        usually="the worker wakes one waiter with notify(), where several may wait: "
        "use notify_all()",
    )


def test_a_join_without_timeout_never_says_false() -> None:
    p = WorkerPool("patient", workers=3)
    gates = [Gate() for _ in range(3)]
    for gate in gates:
        p.submit(gate.task)
    for gate in gates:
        assert gate.wait_until_entered(1)
    outcome: list[object] = []
    joiner = threading.Thread(target=lambda: outcome.append(p.join()), daemon=True)
    joiner.start()
    try:
        assert wait_for(lambda: waiting_on_conditions(p) >= 1 or bool(outcome)), (
            "join() neither waited nor returned"
        )
        gates[0].open()  # one task ends; two still run, so join() must go on waiting
        # The worker is back in queue.get() once it has recorded the end of its task
        # (and notified).
        assert wait_for(
            lambda: len(getattr(p._queue.not_empty, "_waiters", [None])) >= 1
        )
        wait_for(lambda: bool(outcome) or waiting_on_conditions(p) >= 1)
    finally:
        for gate in gates:
            gate.open()
    joiner.join(DEADLOCK)
    assert outcome == [True], explain(
        expected="join() with no timeout to return True once all three tasks ended one "
        "after the other",
        got=f"it returned {outcome[0]!r}"
        if outcome
        else f"it was still waiting {DEADLOCK:g} s later",
        usually="join() waits once and then returns whatever the count is: a wake-up "
        "is not a promise that the count reached zero (another task may have ended, or "
        "the wake-up may be spurious). Wait in a while loop that re-checks the count "
        "(or use wait_for)"
        if outcome
        else "the worker never notifies the condition join() waits on when the count "
        "reaches zero",
    )


@dataclass
class Submitting:
    """An idle pool, a task being submitted, and what a join() saw meanwhile."""

    pool: WorkerPool
    gate: Gate
    # [True] once the task was handed to the queue
    queued: list[bool] = field(default_factory=list)
    # (join(timeout=0), the task was queued)
    saw: list[tuple[bool, bool]] = field(default_factory=list)


def idle_pool() -> Submitting:
    p = WorkerPool("raced", workers=1)
    # the worker is started, has run it, and waits for the next task
    p.submit(lambda: None)
    p.join(timeout=DEADLOCK)
    s = Submitting(p, Gate())
    put = p._queue.put

    def put_and_note(*args: object, **kwargs: object) -> None:
        s.queued.append(True)
        put(*args, **kwargs)

    p._queue.put = put_and_note  # type: ignore[method-assign]
    return s


def test_a_join_in_the_middle_of_a_submit_never_misses_the_task() -> None:
    # While one request submits a task, another thread joins with timeout=0. Whatever
    # instruction of submit() the join falls before, it must not say True once the task
    # is in the queue.
    def join_now(s: Submitting) -> None:
        s.saw.append((s.pool.join(timeout=0), bool(s.queued)))

    explored = preemptions(
        idle_pool,
        lambda s: s.pool.submit(s.gate.task),
        join_now,
        files=[pool.__file__],
        blocked=lambda s: locks_held(s.pool),
    )
    for p in explored:
        p.subject.gate.open()
    wrong = [
        p for p in explored if any(said and queued for said, queued in p.subject.saw)
    ]
    assert explored and not wrong, explain(
        expected="join(timeout=0) to say False whenever a submitted task is queued (or "
        "already running), however its call falls between the instructions of submit()",
        got="join said True with the task already queued, when submit was stopped at "
        f"{wrong[0].where}"
        if wrong
        else "the explorer stepped through nothing in pool.py",
        usually="the task was not counted at that moment. If submit counts it after "
        "putting it in the queue, a join() in between sees 0 unfinished and a task "
        "already queued: count it first, then queue it. (If join() looks at the queue "
        "itself, it misses the task as soon as a worker takes it: see the first check)",
    )
