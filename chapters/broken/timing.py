"""Broken time: deferred tasks run early or twice, a timer per process, a lease never released.

Each gets one thing wrong the way real schedulers have: the property tests in
``tests/core/test_deferred.py`` and ``tests/core/test_periodic.py`` must catch
every one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dualqueue import Claim, LocalClaims, WorkerPool
from dualqueue.clock import Handle
from dualqueue.periodic import skipped_between
from dualqueue.pool import _Task


class EarlyDeferredPool(WorkerPool):
    """The bug: the delay is halved (a unit slip: ``delay / 2``, or ms taken as s).

    Every deferred task with a positive delay becomes due before its time.
    """

    def _put_after(
        self,
        delay: float,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        super()._put_after(delay / 2, fn, args, kwargs)


class TwiceDeferredPool(WorkerPool):
    """The bug: a deferred task's timer is armed twice (a retry of the scheduling
    call after a spurious error), so when due it is queued, and run, twice."""

    def _wait_on_clock(self, task: _Task, delay: float, *, deferred: bool) -> Handle:
        handle = super()._wait_on_clock(task, delay, deferred=deferred)
        if deferred:
            super()._wait_on_clock(task, delay, deferred=deferred)
            self._stats.scheduled -= 1  # counted once, as accepted once
        return handle


class PerProcessClaims(LocalClaims):
    """The bug: each process keeps its own claims, so each one wins every tick.

    What ``LocalClaims`` (the default) does under gunicorn with several worker
    processes: a timer per process, every tick run once per process.
    """


class NeverReleasedLease:
    """The bug: a leader lease with no expiry.

    The first process to claim becomes the leader and runs every tick; the
    others lose every tick to it. When the leader dies, nobody ever takes the
    lease over: ticks are lost, and nothing records them as skipped.
    ``shared`` is the store the processes share; ``owner`` this process.
    """

    def __init__(self, shared: dict[str, Any], owner: object) -> None:
        self.shared = shared
        self.owner = owner
        self._lock = shared.setdefault("lock", threading.Lock())

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        with self._lock:
            leader = self.shared.setdefault("leader", self.owner)
            last = self.shared.get("last")
            skipped = self.shared.get("skipped", 0)
            if leader != self.owner or (last is not None and last >= tick):
                return Claim(False, last, skipped)
            skipped += skipped_between(last, tick, previous)
            self.shared.update(last=tick, skipped=skipped)
            return Claim(True, last, skipped)
