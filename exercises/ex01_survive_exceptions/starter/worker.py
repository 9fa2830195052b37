"""One background worker: a queue of tasks and one daemon thread that runs them in
order.

Exercise 1. The loop in ``_work`` is the one everybody writes first: the first
task that raises kills the thread, and every task queued after it waits forever.
Make the worker survive whatever its tasks raise (see README.md).
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
        """Queue ``fn(*args, **kwargs)`` to run on the worker thread. Returns at
        once."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name=f"dualqueue-{self.name}-0", daemon=True
                )
                self._thread.start()
        self._queue.put((fn, args, kwargs))

    # --8<-- [start:work]
    def _work(self) -> None:
        while True:
            fn, args, kwargs = self._queue.get()
            # TODO: a task that raises (anything, SystemExit included) must not end this
            # loop. - catch it, and log it with its traceback on `logger`, naming the
            # task; - call task_done() whether the task succeeded or not, or join()
            # waits forever.
            fn(*args, **kwargs)
            self._queue.task_done()
    # --8<-- [end:work]

    def join(self) -> None:
        """Block until every submitted task has finished."""
        self._queue.join()

    @property
    def alive(self) -> bool:
        """True while the worker thread runs (False before the first submit)."""
        return self._thread is not None and self._thread.is_alive()
