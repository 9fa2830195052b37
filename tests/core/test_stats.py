"""Stats: one consistent picture, under load, and no lost update.

Three kinds of evidence, because each alone is not enough:

* a real-thread stress property (hypothesis chooses the workload, several
  producers submit while a reader snapshots continuously): every snapshot
  satisfies the invariant, no total ever decreases, and at quiescence the
  totals equal the workload's;
* a deterministic interleaving exploration (frontrun DPOR, in a subprocess)
  that proves the lost update exists in an unlocked counter and not in ours;
  on CPython 3.11 a stress test almost never loses an update, so it cannot
  be the proof;
* a line-by-line exploration: a snapshot taken before any line of the
  counting code, whenever the mutex is free, is consistent.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from dualqueue import WorkerPool
from dualqueue.pool import _Task
from hypothesis import given, settings
from hypothesis import strategies as st

from chapters.broken import UnlockedStatsPool

from .interleave import consistent, snapshots_between_the_lines
from .support import DEADLOCK, boom

ROOT = Path(__file__).resolve().parents[2]
TOTALS = ("submitted", "succeeded", "failed", "dropped", "rejected")

task_kinds = st.sampled_from(["ok", "raise", "exit"])


def exiting() -> None:
    raise SystemExit(1)


# --8<-- [start:stats-property]
@given(
    producers=st.lists(st.lists(task_kinds, max_size=60), min_size=1, max_size=4),
    workers=st.integers(min_value=1, max_value=4),
)
@settings(max_examples=20)
def test_every_snapshot_is_consistent_under_concurrent_load(
    producers: list[list[str]], workers: int
) -> None:
    pool = WorkerPool("stats", workers=workers)
    run = {"ok": lambda: None, "raise": boom, "exit": exiting}
    snapshots: list[dict] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            snapshots.append(pool.snapshot())

    def produce(kinds: list[str]) -> None:
        for kind in kinds:
            pool.submit(run[kind])

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=produce, args=(kinds,)) for kinds in producers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLOCK)
    assert pool.join(timeout=DEADLOCK)
    stop.set()
    reader.join(DEADLOCK)
    snapshots.append(pool.snapshot())

    for snap in snapshots:
        assert consistent(snap), f"inconsistent snapshot: {snap}"
        assert snap["alive_workers"] in (0, workers), "a worker died"
    for before, after in itertools.pairwise(snapshots):
        for total in TOTALS:
            assert after[total] >= before[total], (
                f"{total} decreased: {before[total]} -> {after[total]}"
            )
    kinds = [kind for producer in producers for kind in producer]
    final = snapshots[-1]
    assert (final["submitted"], final["succeeded"], final["failed"]) == (
        len(kinds),
        kinds.count("ok"),
        len(kinds) - kinds.count("ok"),
    )
    pool.shutdown(timeout=DEADLOCK)
    # --8<-- [end:stats-property]


# --8<-- [start:dpor-tests]
@pytest.fixture(scope="module")
def dpor_verdicts() -> dict[str, dict]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.core.dpor_stats"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    verdicts = {}
    for line in out.stdout.splitlines():
        record = json.loads(line)
        verdicts[record["pool"]] = record
    return verdicts


def test_no_lost_update_in_any_interleaving(dpor_verdicts: dict[str, dict]) -> None:
    verdict = dpor_verdicts["WorkerPool"]
    assert verdict["holds"], "DPOR found an interleaving in which the pool lost a count"
    assert verdict["explored"] >= 2, (
        "the exploration did not interleave the two workers at all"
    )


def test_interleaving_exploration_finds_the_lost_update_of_an_unlocked_counter(
    dpor_verdicts: dict[str, dict],
) -> None:
    assert not dpor_verdicts["UnlockedStatsPool"]["holds"], (
        "DPOR missed the lost update of += without a lock"
    )
    # --8<-- [end:dpor-tests]


def _running_pool(cls: type[WorkerPool]) -> WorkerPool:
    pool = cls("stats", workers=1)
    pool._stats.submitted = 1
    pool._stats.running = 1
    return pool


# --8<-- [start:line-tests]
@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("_task_succeeded", lambda pool: pool._task_succeeded(0)),
        (
            "_task_failed",
            lambda pool: pool._task_failed(
                0, _Task(boom, (), {}, 0.0, 0), RuntimeError("x")
            ),
        ),
    ],
)
def test_a_snapshot_between_any_two_lines_of_the_counting_code_is_consistent(
    method: str, call
) -> None:
    taken = snapshots_between_the_lines(lambda: _running_pool(WorkerPool), method, call)
    assert taken, "no line was explored"
    torn = [(line, snap) for line, snap in taken if not consistent(snap)]
    assert not torn, f"inconsistent snapshots before lines {[line for line, _ in torn]}"


def test_line_exploration_catches_the_torn_snapshot_of_an_unlocked_counter() -> None:
    taken = snapshots_between_the_lines(
        lambda: _running_pool(UnlockedStatsPool),
        "_task_succeeded",
        lambda pool: pool._task_succeeded(0),
    )
    assert any(not consistent(snap) for _, snap in taken), (
        "no torn snapshot found in the unlocked counter"
    )
    # --8<-- [end:line-tests]
