"""Wrong: a failed task is marked done before its failure is logged.

Each task is marked done exactly once and the failure is logged, so every
check that looks at one thing at a time passes. But between the two calls a
``join()`` in another thread can return, and whoever joined and then reads the
log (a test, a shutdown report) finds no trace of the failure: wrong only when
the joining thread runs in that gap.

Kind: race
Caught by: test_the_failure_is_logged_before_the_task_is_marked_done
Message mentions: before logger.exception
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("dualqueue")

# A queued task: (fn, args, kwargs).
_Item = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]


class Worker:
    """One daemon thread taking tasks, first in first out, from one queue."""

    def __init__(self, name: str = "worker") -> None:
        self.name = name
        self._queue: queue.Queue[_Item] = queue.Queue()
        # Guards _thread: two requests submitting at once must not start two workers.
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` to run on the worker thread. Returns at once."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=f"dualqueue-{self.name}-0", daemon=True)
                self._thread.start()
        self._queue.put((fn, args, kwargs))

    def _work(self) -> None:
        while True:
            fn, args, kwargs = self._queue.get()
            try:
                fn(*args, **kwargs)
            except BaseException:  # a worker never dies of a task
                self._queue.task_done()
                name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
                logger.exception("dualqueue: task %s failed in worker %r", name, self.name)
            else:
                self._queue.task_done()
            finally:
                del fn, args, kwargs  # do not keep the last task's arguments alive while idle

    def join(self) -> None:
        """Block until every submitted task has finished."""
        self._queue.join()

    @property
    def alive(self) -> bool:
        """True while the worker thread runs (False before the first submit)."""
        return self._thread is not None and self._thread.is_alive()
