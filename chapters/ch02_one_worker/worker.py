"""One background worker: a ``queue.Queue`` of tasks and one daemon thread that runs
them in order.

The request puts a task on the queue and returns; the worker thread runs it
later. It guarantees:

* **A worker never dies of a task.** Whatever a task raises (``SystemExit`` and
  ``KeyboardInterrupt`` included) is logged with its traceback and the worker
  goes on to the next task.
* **Lazy start.** Creating a ``Worker`` starts no thread; the first submit
  does. Importing a module that creates one (a Django ``tasks.py``, say) costs
  nothing and is safe before a fork.

What it does not do yet: run more than one task at a time (a 30 s analysis
holds up every email behind it), check its input (a non-callable is found out
by the worker, not by the caller), or let anybody wait with a timeout
(``queue.Queue.join`` has none). Chapter 3 fixes all three.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Worker"]

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

    # --8<-- [start:submit]
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
        # --8<-- [end:submit]

    # --8<-- [start:work]
    def _work(self) -> None:
        while True:
            fn, args, kwargs = self._queue.get()
            try:
                fn(*args, **kwargs)
            except BaseException:  # a worker never dies of a task
                logger.exception(
                    "dualqueue: task %s failed in worker %r", _task_name(fn), self.name
                )
            finally:
                self._queue.task_done()
                del (
                    fn,
                    args,
                    kwargs,
                )  # do not keep the last task's arguments alive while idle
                # --8<-- [end:work]

    def join(self) -> None:
        """Block until every submitted task has finished. There is no timeout: see
        chapter 3."""
        self._queue.join()

    @property
    def alive(self) -> bool:
        """True while the worker thread runs (False before the first submit)."""
        return self._thread is not None and self._thread.is_alive()


def _task_name(fn: object) -> str:
    """A human name for a task in a log line: its qualified name, never its
    arguments."""
    return getattr(fn, "__qualname__", None) or type(fn).__qualname__
