"""Exercise 6 checks: every snapshot satisfies submitted == queued + running + succeeded
+ failed.

Two explorations (``exercises.explore``), both deterministic:

* a worker making a transition is stopped before each of its instructions in
  turn, and a snapshot is taken there whenever the lock is free;
* a snapshot is stopped before each of its instructions in turn, and a worker
  makes a whole transition there whenever the lock is free.

Either way, the snapshot must add up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from exercises.explore import clearest, locks_held, preemptions
from exercises.support import explain
from exercises.target import load

stats = load("ex06_consistent_snapshot", "stats")
PoolStats = stats.PoolStats
FIELDS = ("submitted", "queued", "running", "succeeded", "failed")


def adds_up(snapshot: dict[str, int]) -> bool:
    s = snapshot
    return s["submitted"] == s["queued"] + s["running"] + s["succeeded"] + s["failed"]


def with_one_running_task() -> PoolStats:
    pool_stats = PoolStats()
    pool_stats.task_submitted()
    pool_stats.task_submitted()
    pool_stats.task_started()
    return pool_stats  # submitted 2: queued 1, running 1


TRANSITIONS: dict[str, Callable[[PoolStats], object]] = {
    "task_submitted": lambda s: s.task_submitted(),
    "task_started": lambda s: s.task_started(),
    "task_finished(ok=True)": lambda s: s.task_finished(True),
    "task_finished(ok=False)": lambda s: s.task_finished(False),
}


@dataclass
class Scene:
    """A PoolStats, and the snapshots taken of it during one explored interleaving."""

    stats: PoolStats = field(default_factory=with_one_running_task)
    snapshots: list[dict[str, int]] = field(default_factory=list)

    def take_snapshot(self) -> None:
        self.snapshots.append(self.stats.snapshot())


# --8<-- [start:explore]
@pytest.mark.parametrize("transition", list(TRANSITIONS))
def test_a_snapshot_taken_in_the_middle_of_a_transition_adds_up(
    transition: str,
) -> None:
    move = TRANSITIONS[transition]
    explored = preemptions(
        Scene, lambda scene: move(scene.stats), Scene.take_snapshot,
        files=[stats.__file__], blocked=lambda scene: locks_held(scene.stats),
    )
    torn = [p for p in explored if not adds_up(p.subject.snapshots[0])]
    assert not torn, explain(
        expected=f"every snapshot to add up while a worker runs {transition}",
        got=f"{clearest(torn).subject.snapshots[0]} when the worker was stopped at "
        f"{clearest(torn).where}",
        usually="the transition changes its two counters in two locked blocks; a "
        "snapshot can look between them. Make each transition one `with self._lock:` "
        "block",
    )


def test_a_transition_in_the_middle_of_a_snapshot_cannot_tear_it() -> None:
    def snapshot_into(scene: Scene) -> None:
        scene.take_snapshot()

    explored = preemptions(
        Scene, snapshot_into, lambda scene: scene.stats.task_started(),
        files=[stats.__file__], blocked=lambda scene: locks_held(scene.stats),
    )
    torn = [p for p in explored if not adds_up(p.subject.snapshots[0])]
    assert not torn, explain(
        expected="a snapshot to add up even if a worker starts a task while it is "
        "being taken",
        got=f"{clearest(torn).subject.snapshots[0]} when the snapshot was stopped at "
        f"{clearest(torn).where} and a task started meanwhile",
        usually="snapshot() reads the counters one by one without the lock: some "
        "before the transition, some after. Read all of them inside one `with "
        "self._lock:` block",
    )
# --8<-- [end:explore]


def test_the_snapshot_is_json_and_counts_a_whole_run() -> None:
    pool_stats = PoolStats()
    for _ in range(3):
        pool_stats.task_submitted()
    for ok in (True, False):
        pool_stats.task_started()
        pool_stats.task_finished(ok)
    snapshot: dict[str, Any] = json.loads(json.dumps(pool_stats.snapshot()))
    expected = {"submitted": 3, "queued": 1, "running": 0, "succeeded": 1, "failed": 1}
    assert snapshot == expected, explain(
        expected=f"{expected} after 3 submits, 2 starts, 1 success and 1 failure",
        got=repr(snapshot),
        usually="a transition moves the wrong counters, or snapshot() leaves one out "
        "or adds one",
    )


def test_the_lock_is_free_after_every_call() -> None:
    pool_stats = with_one_running_task()
    for name, move in [*TRANSITIONS.items(), ("snapshot", PoolStats.snapshot)]:
        move(pool_stats)
        assert pool_stats._lock.acquire(blocking=False), explain(
            expected=f"self._lock to be free again once {name} returned",
            got="it is still held, so the next worker would wait forever",
            usually="lock.acquire() without a matching release(); use `with "
            "self._lock:`",
        )
        pool_stats._lock.release()
