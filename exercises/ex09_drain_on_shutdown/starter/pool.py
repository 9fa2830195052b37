"""A pool of daemon worker threads that must account for every task when it shuts down.

Exercise 9. ``shutdown(timeout)`` stops intake and returns at once, reporting
nothing. The workers are daemon threads, so when the process exits right after
(a deploy, a restart), whatever was still queued is simply gone, and nothing
says so. Make shutdown drain the queue until a deadline, then drop what is
left and name every task it dropped (see README.md).
"""

from __future__ import annotations

import logging
import threading
import time  # noqa: F401  (you will need it for the deadline)
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dualqueue import PoolClosedError

logger = logging.getLogger("dualqueue")

_Item = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]


def task_name(fn: Callable[..., object]) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__qualname__


@dataclass(frozen=True)
class ShutdownReport:
    """What a shutdown did with the tasks it found queued or running.

    Every one of them is in exactly one place:
    ``finished + len(dropped) + len(still_running) == queued + running`` at shutdown.
    """

    finished: int  # finished (succeeded or failed) during the drain
    # names of the tasks removed unrun at the deadline, in queue order
    dropped: tuple[str, ...]
    # names of the tasks still running at the deadline (left to their threads)
    still_running: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.dropped and not self.still_running


class WorkerPool:
    """``workers`` daemon threads taking tasks, first in first out, from one queue."""

    def __init__(self, name: str, workers: int = 2) -> None:
        self.name = name
        self.workers = workers
        # The one mutex: it guards everything below.
        self._mutex = threading.Lock()
        # a task was queued, or idle workers must exit
        self._not_empty = threading.Condition(self._mutex)
        # nothing queued or running
        self._all_tasks_done = threading.Condition(self._mutex)
        self._queue: deque[_Item] = deque()
        # the name of the task each worker runs
        self._current: list[str | None] = [None] * workers
        self._running = 0
        self.finished = 0  # tasks over, whichever way they ended
        # tasks removed unrun by a shutdown: the only way a task is lost
        self.dropped = 0
        self._threads: list[threading.Thread] = []
        self._closed = False  # no more submits
        self._stopping = False  # workers exit once the queue is empty

    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)``. Raises PoolClosedError once shutdown has
        begun."""
        with self._mutex:
            if self._closed:
                raise PoolClosedError(
                    f"{self.name!r} pool is shut down; {task_name(fn)} was not queued"
                )
            self._queue.append((fn, args, kwargs))
            if not self._threads:
                for slot in range(self.workers):
                    thread = threading.Thread(
                        target=self._work,
                        args=(slot,),
                        daemon=True,
                        name=f"dualqueue-{self.name}-{slot}",
                    )
                    thread.start()
                    self._threads.append(thread)
            self._not_empty.notify()

    def _work(self, slot: int) -> None:
        while True:
            with self._not_empty:
                while not self._queue:
                    if self._stopping:
                        return
                    self._not_empty.wait()
                fn, args, kwargs = self._queue.popleft()
                self._running += 1
                self._current[slot] = task_name(fn)
            try:
                fn(*args, **kwargs)
            except BaseException:  # a worker never dies of a task
                logger.exception(
                    "dualqueue: task %s failed in pool %r", task_name(fn), self.name
                )
            finally:
                del fn, args, kwargs
                with self._mutex:
                    self._running -= 1
                    self.finished += 1
                    self._current[slot] = None
                    if self._idle():
                        self._all_tasks_done.notify_all()

    def _idle(self) -> bool:
        return not self._queue and not self._running

    # --8<-- [start:shutdown]
    def shutdown(self, timeout: float | None = 30.0) -> ShutdownReport:
        """Stop intake, let the workers drain the queue for up to ``timeout`` seconds,
        drop the rest, report.

        ``timeout=None`` waits as long as it takes; ``timeout=0`` drops everything
        queued at once.
        """
        with self._mutex:
            self._closed = True
            # TODO: wait (on self._all_tasks_done) until the pool is idle or the
            # deadline has passed; then remove what is still queued, counting it in
            # self.dropped and naming each task; name the tasks still running; count how
            # many finished during the drain.
            self._stopping = True
            self._not_empty.notify_all()
        return ShutdownReport(finished=0, dropped=(), still_running=())
    # --8<-- [end:shutdown]
