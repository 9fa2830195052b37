"""Deterministic interleaving exploration of a pool's counters (run as a subprocess).

frontrun replaces threading's locks with cooperative ones and explores the
interleavings of two threads systematically (DPOR), instead of hoping a stress
test hits the race. It patches threading for the whole process, which is why
this runs in a subprocess of its own: ``python -m tests.core.dpor_stats``
prints one JSON line per (scenario, pool class) with the verdict.
"""

from __future__ import annotations

import json
import sys

from frontrun._cooperative import patch_locks

patch_locks()

import frontrun  # noqa: E402
from dualqueue import WorkerPool  # noqa: E402

from chapters.broken import UnlockedStatsPool  # noqa: E402

TRACED = ["dualqueue", "chapters"]


def two_running(cls: type[WorkerPool]) -> WorkerPool:
    """A pool whose two workers are each running one task (no threads needed)."""
    pool = cls("stats", workers=2)
    pool._stats.submitted = 2
    pool._stats.running = 2
    return pool


# --8<-- [start:lost-update]
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
    # --8<-- [end:lost-update]


def main() -> int:
    for scenario in (lost_update,):
        for cls in (WorkerPool, UnlockedStatsPool):
            result = scenario(cls)
            print(json.dumps({
                "scenario": scenario.__name__,
                "pool": cls.__name__,
                "holds": bool(result.property_holds),
                "explored": int(result.num_explored),
            }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
