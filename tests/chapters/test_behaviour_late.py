"""The behaviour suite, late features: one specification, run against every chapter that has the feature.

Each test names the features it needs with ``@pytest.mark.feature(...)`` and
runs once per chapter that has them, and once against the reference core
(see ``conftest.py``). The names a chapter exports for these features, beyond
the early ones (the reference's names and signatures):

* ``stats``/``snapshot``: ``WorkerPool.snapshot()`` and ``TaskSystem.snapshot()``;
  the pool counts through ``_task_succeeded(slot)`` under ``_mutex`` into
  ``_stats`` (the interleaving explorer of chapter 6 steps through it);
* ``clock``: ``SystemClock``, ``FakeClock``; pools and systems take ``clock=``;
* ``debouncer``: ``Debouncer(fn, wait, max_wait, pool, clock)``;
* ``retries``: ``Retry``; ``dead_letters``: ``WorkerPool(..., dead_letters=N)``;
* ``shutdown``: ``shutdown(timeout)`` returning a ``ShutdownReport``, ``PoolClosedError``;
* ``fork``, ``exit_drain``: checked in a forked child and in a subprocess.

At the end, each test that has a broken variant is pointed at it and must fail.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import threading
import types
from typing import Any

import pytest

from chapters.broken import UnlockedStatsPool
from chapters.ch06_stats_under_a_lock import NaiveStatsPool
from chapters.ch06_stats_under_a_lock.experiment import consistent, two_workers_finish

from .conftest import Chapter
from .support import DEADLOCK, Gate, boom, unique


def exiting() -> None:
    raise SystemExit(1)


def broken_chapter(name: str, features: set[str], **exports: object) -> Chapter:
    return Chapter(name, types.SimpleNamespace(**exports), frozenset(features))  # type: ignore[arg-type]


# -- stats -----------------------------------------------------------------


@pytest.mark.feature("stats", "snapshot")
def test_once_idle_the_counts_equal_the_workload(chapter: Chapter) -> None:
    pool = chapter.pool(workers=3, name=unique())
    workload = ["ok"] * 7 + ["raise"] * 4 + ["exit"] * 2
    run = {"ok": lambda: None, "raise": boom, "exit": exiting}
    for kind in workload:
        pool.submit(run[kind])
    assert pool.join(DEADLOCK)
    s = pool.snapshot()
    assert (s["submitted"], s["succeeded"], s["failed"], s["queued"], s["running"]) == (13, 7, 6, 0, 0), s
    assert s["alive_workers"] == 3, "a worker died of a task"
    chapter.finish(pool)


# --8<-- [start:no-lost-update]
@pytest.mark.feature("stats", "snapshot")
def test_no_preemption_of_a_finishing_worker_loses_a_count_or_tears_a_snapshot(chapter: Chapter) -> None:
    verdict = two_workers_finish(chapter.module.WorkerPool)
    assert verdict.explored >= 10, "the exploration did not step through the counting code"
    assert verdict.lost_updates == [], f"a count was lost when worker 0 was preempted at {verdict.lost_updates}"
    assert verdict.torn_snapshots == [], f"a snapshot broke the invariant at {verdict.torn_snapshots}"
# --8<-- [end:no-lost-update]


@pytest.mark.feature("stats", "snapshot")
def test_every_snapshot_under_concurrent_load_is_consistent_and_no_total_decreases(chapter: Chapter) -> None:
    pool = chapter.pool(workers=3, name=unique())
    run = [lambda: None, boom, exiting]
    snapshots: list[dict[str, Any]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            snapshots.append(pool.snapshot())

    def produce(offset: int) -> None:
        for n in range(150):
            pool.submit(run[(n + offset) % 3])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    reader = threading.Thread(target=read)
    producers = [threading.Thread(target=produce, args=(k,)) for k in range(3)]
    try:
        reader.start()
        for t in producers:
            t.start()
        for t in producers:
            t.join(DEADLOCK)
        assert pool.join(DEADLOCK)
    finally:
        stop.set()
        reader.join(DEADLOCK)
        sys.setswitchinterval(interval)
    snapshots.append(pool.snapshot())
    torn = [s for s in snapshots if not consistent(s)]
    assert not torn, f"{len(torn)} of {len(snapshots)} snapshots broke the invariant, e.g. {torn[0]}"
    for before, after in itertools.pairwise(snapshots):
        for total in ("submitted", "succeeded", "failed", "dropped", "rejected"):
            assert after[total] >= before[total], f"{total} decreased: {before[total]} -> {after[total]}"
    assert (snapshots[-1]["submitted"], snapshots[-1]["succeeded"], snapshots[-1]["failed"]) == (450, 150, 300)
    chapter.finish(pool)


@pytest.mark.feature("stats", "snapshot", "bounded")
def test_a_refused_submit_is_counted_as_rejected_and_not_as_submitted(chapter: Chapter) -> None:
    pool = chapter.pool(workers=1, maxsize=1, name=unique())
    gate = Gate()
    try:
        pool.submit(gate.task)
        assert gate.wait_until_entered(1)
        pool.submit(gate.task)
        for _ in range(3):
            with pytest.raises(chapter.module.QueueFullError):
                pool.submit(gate.task)
        s = pool.snapshot()
    finally:
        gate.open()
    assert (s["submitted"], s["rejected"], s["queued"], s["running"]) == (2, 3, 1, 1), s
    assert consistent(s)
    chapter.finish(pool)


# -- snapshot --------------------------------------------------------------

POOL_FIELDS = {
    "name", "workers", "alive_workers", "queued", "running", "submitted", "succeeded", "failed", "dropped",
    "rejected", "last_submitted_at", "last_finished_at", "last_error", "oldest_queued_seconds",
}


@pytest.mark.feature("snapshot")
def test_a_pool_snapshot_is_json_with_every_field_the_status_page_needs(chapter: Chapter) -> None:
    name = unique()
    pool = chapter.pool(workers=2, name=name)
    idle = pool.snapshot()
    assert idle.keys() >= POOL_FIELDS, f"missing {sorted(POOL_FIELDS - idle.keys())}"
    assert json.loads(json.dumps(idle)) == idle, "the snapshot is not plain JSON"
    assert (idle["name"], idle["workers"], idle["alive_workers"], idle["submitted"]) == (name, 2, 0, 0)
    assert idle["last_submitted_at"] is None and idle["last_error"] is None and idle["oldest_queued_seconds"] is None
    pool.submit(lambda: None)
    assert pool.join(DEADLOCK)
    busy = pool.snapshot()
    assert busy["alive_workers"] == 2
    for stamp in ("last_submitted_at", "last_finished_at"):
        assert isinstance(busy[stamp], str) and busy[stamp].endswith("+00:00"), f"{stamp} is not an ISO UTC time"
    chapter.finish(pool)


@pytest.mark.feature("snapshot", "task_system")
def test_a_system_snapshot_names_the_process_and_shows_every_pool(chapter: Chapter) -> None:
    tasks = chapter.task_system(general=1, site=2)
    tasks.submit("site", lambda: None)
    assert tasks.join(DEADLOCK)
    picture = tasks.snapshot()
    assert picture["pid"] == os.getpid()
    assert isinstance(picture["started_at"], str)
    assert sorted(picture["pools"]) == ["general", "site"]
    assert (picture["pools"]["site"]["succeeded"], picture["pools"]["general"]["submitted"]) == (1, 0)
    assert json.loads(json.dumps(picture)) == picture
    chapter.finish(tasks)


@pytest.mark.feature("snapshot")
def test_last_error_is_type_and_first_line_never_a_traceback_or_an_argument(chapter: Chapter) -> None:
    pool = chapter.pool(workers=1, name=unique())
    secret = "user-4242@example.com"

    def send_reset_email(address: str) -> None:
        raise ConnectionError("421 service not available\nTraceback (most recent call last):\n" + "x" * 900)

    def analyse(site_id: int) -> None:
        raise ValueError("y" * 900)

    pool.submit(send_reset_email, secret)
    assert pool.join(DEADLOCK)
    error = pool.snapshot()["last_error"]
    assert (error["type"], error["message"]) == ("ConnectionError", "421 service not available")
    assert isinstance(error["at"], str)
    pool.submit(analyse, 7)
    assert pool.join(DEADLOCK)
    shown = pool.snapshot()
    assert shown["last_error"]["type"] == "ValueError"
    assert len(shown["last_error"]["message"]) <= 200, "the message was not shortened"
    assert secret not in json.dumps(shown) and "Traceback" not in json.dumps(shown)
    chapter.finish(pool)


@pytest.mark.feature("snapshot")
def test_levels_show_what_runs_and_what_waits_and_the_oldest_wait_grows(chapter: Chapter) -> None:
    pool = chapter.pool(workers=2, name=unique())
    gate = Gate()
    try:
        for _ in range(5):
            pool.submit(gate.task)
        assert gate.wait_until_entered(2)
        first = pool.snapshot()
        second = pool.snapshot()
    finally:
        gate.open()
    assert (first["running"], first["queued"]) == (2, 3), first
    assert first["oldest_queued_seconds"] >= 0
    assert second["oldest_queued_seconds"] >= first["oldest_queued_seconds"], "the oldest wait went backwards"
    assert pool.join(DEADLOCK)
    assert pool.snapshot()["oldest_queued_seconds"] is None
    chapter.finish(pool)


# -- the suite can fail ----------------------------------------------------


@pytest.mark.parametrize("unlocked", [UnlockedStatsPool, NaiveStatsPool], ids=["reference-unlocked", "ch06-naive"])
def test_the_suite_catches_counting_without_the_mutex(unlocked: type) -> None:
    chapter = broken_chapter("unlocked", {"stats", "snapshot"}, WorkerPool=unlocked)
    with pytest.raises(AssertionError, match="a count was lost"):
        test_no_preemption_of_a_finishing_worker_loses_a_count_or_tears_a_snapshot(chapter)

