"""Broken against hostile user code: each trusts what a task, its exception or a log handler does.

The hostile-task property (``chapters/ch11_testing_concurrency/hostile.py``) must
fail on each; ``tests/chapters/test_ch11_testing_concurrency.py`` asserts that it does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dualqueue import Debouncer, TaskSystem, WorkerPool
from dualqueue.pool import live_pools


class NarrowCatchPool(WorkerPool):
    """The bug: ``except Exception`` around the task. ``SystemExit`` and friends end the worker.

    The thread dies silently (``threading`` prints nothing for ``SystemExit``),
    its task stays counted as running forever, and ``join`` never returns.
    """

    def _run(self, slot: int, task: Any) -> None:
        try:
            task.fn(*task.args, **task.kwargs)
        except Exception as exc:
            self._task_failed(slot, task, exc)
        else:
            self._task_succeeded(slot)


class TextUnderMutexPool(WorkerPool):
    """The bug: the error record reads ``str(exc)`` while holding the pool's mutex.

    ``str`` is the exception's ``__str__``: user code. If it raises, the worker
    dies between its counters; if it blocks, every snapshot and submit blocks.
    """

    def _task_failed(self, slot: int, task: Any, exc: BaseException) -> None:
        with self._mutex:
            str(exc)  # "the message, while we hold the lock anyway"
        super()._task_failed(slot, task, exc)


class FixedJoinPool(WorkerPool):
    """The bug: after the drain, each worker is joined for a fixed second.

    ``shutdown(0.1)`` with five workers busy in a slow call takes five seconds:
    the bound the caller asked for is exceeded by the cleanup after it.
    """

    def _drain(self, ticket: Any, deadline: float | None) -> Any:
        result = super()._drain(ticket, deadline)
        for thread in list(self._threads):
            thread.join(1.0)
        return result


class CancelAtCloseDebouncer(Debouncer):
    """The bug: closing (at shutdown) drops what is pending instead of running it within the drain.

    The items are counted, but as a ``cancel``: no shutdown report names the
    lost batch, and the report of the drain says it completed.
    """

    def close(self) -> None:
        self.cancel()
        super().close()


class CancelAtCloseSystem(TaskSystem):
    """A ``TaskSystem`` whose debouncers are ``CancelAtCloseDebouncer``."""

    def debouncer(
        self, name: str, fn: Callable[[list[Any]], object], **options: Any
    ) -> Debouncer:
        made = super().debouncer(name, fn, **options)
        made.__class__ = CancelAtCloseDebouncer
        return made


def live_pools_without_a_copy() -> Any:
    """The bug: hand out the registry itself. A pool created while a caller walks it breaks the walk."""
    from dualqueue import pool

    assert live_pools  # the reference's answer, a copy, for comparison
    return pool._live_pools
