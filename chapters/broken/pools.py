"""Broken pools and systems: a shared queue, an unlocked counter, a forgetful shutdown, an unbounded ring."""

from __future__ import annotations

import sys
from collections import deque
from typing import Any

from dualqueue import TaskSystem, WorkerPool
from dualqueue.clock import Clock


class SharedPoolSystem(TaskSystem):
    """The bug: every pool name leads to one shared queue with all the workers.

    It has the same total number of workers as the system it imitates, so it is
    not short of capacity: it is short of isolation. Ten slow site tasks at the
    head of the one queue hold up every general task behind them.
    """

    def __init__(self, *, clock: Clock | None = None, **pools: Any) -> None:
        super().__init__(clock=clock, **pools)
        originals = self._pools.values()
        bounded = all(p.maxsize for p in originals)
        shared = WorkerPool(
            "shared",
            workers=sum(p.workers for p in originals),
            maxsize=sum(p.maxsize for p in originals) if bounded else 0,
            clock=self.clock,
        )
        self._pools = {name: shared for name in self._pools}


class UnlockedStatsPool(WorkerPool):
    """The bug: counting a finished task without holding the pool's mutex.

    ``running -= 1`` and ``succeeded += 1`` are each a read, an add and a
    write. Two workers finishing at once can interleave between the read and
    the write, and one update is lost; a snapshot taken between the two lines
    sees a task that is neither running nor succeeded.
    """

    def _task_succeeded(self, slot: int) -> None:
        self._current[slot] = None
        self._stats.running -= 1
        self._stats.succeeded += 1
        self._stats.last_finished_at = self._now()
        with self._mutex:
            self._notify_if_idle()


class ForgetfulShutdownPool(WorkerPool):
    """The bug: at the deadline, empty the queue without counting or naming what was in it.

    This is what a daemon-thread pool does at interpreter exit, made explicit:
    the tasks are gone, and nothing says so.
    """

    def _drop_queued(self) -> tuple[str, ...]:
        self._queue.clear()
        for _, handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        self._stats.retrying = 0
        return ()


class NoForkResetPool(WorkerPool):
    """The bug: nothing happens at fork. The child inherits the parent's pool as it was.

    Its worker threads did not survive the fork, but the pool still lists them,
    so it never starts new ones: in the child, submitted tasks wait forever. A
    backlog copied from the parent would also be there, to run once per child.
    """

    def _reset(self) -> None:
        if not hasattr(self, "_mutex"):  # the first call, from __init__
            super()._reset()


class UnboundedDeadLetterPool(WorkerPool):
    """The bug: the dead-letter ring ignores its bound and keeps every failed task.

    It looks harmless until a dependency goes down: every failure of every
    retry-exhausted task stays in memory, and the status page grows with it.
    """

    def _reset(self) -> None:
        super()._reset()
        self._stats.dead_letters = deque(maxlen=sys.maxsize)  # the configured bound, forgotten
