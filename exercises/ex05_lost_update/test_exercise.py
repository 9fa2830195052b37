"""Exercise 5 checks: no interleaving of two workers updating a counter loses an update.

Hoping that a stress test hits the race proves nothing on CPython 3.11 (an
unlocked ``n += 1`` practically never loses an update there, yet it is not
atomic, and it does lose them on a free-threaded build). So the checks use
``exercises.explore``: one worker is stopped before each instruction of the
update in turn while the other runs its whole update, and the count is checked
after every such interleaving.
"""

from __future__ import annotations

import pytest

from exercises.explore import clearest, preemptions
from exercises.support import explain
from exercises.target import load

stats = load("ex05_lost_update", "stats")
TaskCounts = stats.TaskCounts


# --8<-- [start:explore]
@pytest.mark.parametrize(
    ("method", "counter"),
    [
        ("record_start", "started"),
        ("record_success", "succeeded"),
        ("record_failure", "failed"),
    ],
)
def test_two_workers_recording_at_once_are_both_counted_in_every_interleaving(
    method: str, counter: str
) -> None:
    def record(counts: TaskCounts) -> None:
        getattr(counts, method)()

    explored = preemptions(TaskCounts, record, record, files=[stats.__file__])
    assert explored, explain(
        expected=f"the explorer to step through {method}() in stats.py",
        got="no instruction of stats.py ran during the call",
        usually=f"{method} is not defined in stats.py, or it does nothing",
    )
    lost = [p for p in explored if getattr(p.subject, counter) != 2]
    shown = clearest(lost) if lost else None
    assert shown is None, explain(
        expected=f"{counter} == 2 after two workers each called {method}(), however "
        "they interleave",
        got=f"{counter} == {getattr(shown.subject, counter)} when the first worker was "
        f"stopped at {shown.where}, while the second ran its whole update ({len(lost)} "
        f"of {len(explored)} interleavings lost an update)",
        usually="a read-modify-write outside the lock: the first worker read the old "
        "value, the second wrote old + 1, then the first wrote old + 1 too. Hold "
        "self._lock around the whole `+= 1`",
    )
# --8<-- [end:explore]


def test_the_counts_start_at_zero_and_count_one_call_each() -> None:
    counts = TaskCounts()
    assert (counts.started, counts.succeeded, counts.failed) == (0, 0, 0)
    counts.record_start()
    counts.record_start()
    counts.record_success()
    counts.record_failure()
    got = (counts.started, counts.succeeded, counts.failed, counts.finished())
    assert got == (2, 1, 1, 2), explain(
        expected="(started, succeeded, failed, finished()) == (2, 1, 1, 2) after 2 "
        "starts, 1 success, 1 failure",
        got=repr(got),
        usually="a record_* method updates the wrong counter, or finished() adds the "
        "wrong ones",
    )


def test_the_lock_is_free_after_every_call() -> None:
    counts = TaskCounts()
    for method in ("record_start", "record_success", "record_failure", "finished"):
        getattr(counts, method)()
        assert counts._lock.acquire(blocking=False), explain(
            expected=f"self._lock to be free again once {method}() returned",
            got="it is still held, so the next worker would wait forever",
            usually="lock.acquire() without a matching release(); use `with "
            "self._lock:`",
        )
        counts._lock.release()


def test_two_pools_count_apart() -> None:
    # The general pool and the site pool each have a TaskCounts: a task in one is not a
    # task in the other.
    general, site = TaskCounts(), TaskCounts()
    site.record_start()
    site.record_failure()
    got = (general.started, general.failed, site.started, site.failed)
    assert got == (0, 0, 1, 1), explain(
        expected="general: started 0, failed 0; site: started 1, failed 1 (one task "
        "ran on the site pool)",
        got=f"general: started {got[0]}, failed {got[1]}; site: started {got[2]}, "
        f"failed {got[3]}",
        usually="the counters are state shared between instances: a class attribute "
        "that is a dict (or another mutable object) is one object for every "
        "TaskCounts. Make them in __init__",
    )
