"""Small tools the adapter's tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import TestCase

from dualqueue.django.compat import TASKS_LOGGER, TaskResult, task_enqueued, task_finished, task_started

from tests.core.support import DEADLOCK, wait_for

__all__ = ["DEADLOCK", "SignalLog", "failure_logs", "finished", "record_signals", "wait_for"]


def finished(result: TaskResult[Any], timeout: float = DEADLOCK) -> bool:
    """Wait until ``result`` (updated in place by its worker) is SUCCESSFUL or FAILED."""
    return wait_for(lambda: result.is_finished, timeout)


class SignalLog(list[tuple[str, str, str, type]]):
    """``(signal, result id, status at send time, sender)`` for every task signal sent."""

    def of(self, result_id: str) -> list[tuple[str, str]]:
        return [(name, status) for name, rid, status, _ in self if rid == result_id]


@contextmanager
def record_signals() -> Iterator[SignalLog]:
    log = SignalLog()

    def receiver(name: str) -> Any:
        def receive(sender: type, task_result: TaskResult[Any], **kwargs: Any) -> None:
            log.append((name, task_result.id, str(task_result.status), sender))

        return receive

    receivers = {"enqueued": receiver("enqueued"), "started": receiver("started"), "finished": receiver("finished")}
    task_enqueued.connect(receivers["enqueued"])
    task_started.connect(receivers["started"])
    task_finished.connect(receivers["finished"])
    try:
        yield log
    finally:
        task_enqueued.disconnect(receivers["enqueued"])
        task_started.disconnect(receivers["started"])
        task_finished.disconnect(receivers["finished"])


@contextmanager
def failure_logs(test: TestCase, count: int = 1) -> Iterator[tuple[Any, Any]]:
    """Expect ``count`` failed tasks: one ERROR each from the framework and ``dualqueue``.

    The framework's logger is ``compat.TASKS_LOGGER`` (``django.tasks`` or ``django_tasks``: the
    result); ``dualqueue`` logs the pool's failure.

    The pool logs a failure just after it has counted it, outside its lock, so a ``join()``
    can return before the line is written: wait for the lines before the block ends.
    """
    with test.assertLogs(TASKS_LOGGER, "ERROR") as tasks_log, test.assertLogs("dualqueue", "ERROR") as pool_log:
        yield tasks_log, pool_log
        assert wait_for(lambda: len(tasks_log.output) >= count and len(pool_log.output) >= count), (
            f"expected {count} failure log line(s) from each logger"
        )
