"""DPOR over the chapters' counting code (run as a subprocess): the second, independent
proof of chapter 6.

frontrun replaces threading's locks with cooperative ones and explores the
interleavings of two workers finishing at once systematically, deeper than the
chapter's one-preemption explorer. It patches threading for the whole process,
which is why this runs on its own: ``python -m tests.chapters.dpor_chapters``
prints one JSON line per pool class with the verdict.
"""

from __future__ import annotations

import json
import sys

from frontrun._cooperative import patch_locks

patch_locks()

import frontrun  # noqa: E402
from chapters.ch06_stats_under_a_lock import NaiveStatsPool, WorkerPool  # noqa: E402

TRACED = ["chapters"]


def two_running(cls: type[WorkerPool]) -> WorkerPool:
    pool = cls("stats", workers=2)
    pool._stats.submitted = 2
    pool._stats.running = 2
    return pool


def lost_update(cls: type[WorkerPool]) -> frontrun.InterleavingResult:
    """Two workers finish at once: both completions must be counted."""
    return frontrun.explore(
        setup=lambda: two_running(cls),
        workers=[
            lambda pool: pool._task_succeeded(0),
            lambda pool: pool._task_succeeded(1),
        ],
        invariant=lambda pool: pool._stats.succeeded == 2 and pool._stats.running == 0,
        trace_packages=TRACED,
    )


def main() -> int:
    for cls in (WorkerPool, NaiveStatsPool):
        result = lost_update(cls)
        print(json.dumps({"pool": cls.__name__, "holds": bool(result.property_holds),
                          "explored": int(result.num_explored)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
