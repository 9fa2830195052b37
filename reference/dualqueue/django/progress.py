"""``report_progress``: how far a running task is, in the pool's picture and in the task's result.

::

    from dualqueue.django import report_progress

    @task(queue_name="site")
    def analyse(site_id):
        for step, name in enumerate(STEPS):
            report_progress(step, len(STEPS), name)
            ...

It calls the core's ``dualqueue.report_progress`` (the pool's snapshot shows it on the worker's
slot: no I/O, one short critical section), and keeps it with the task's result, which the result
store writes at most every ``DUALQUEUE["PROGRESS_INTERVAL"]`` seconds (default 1.0) and always
with the end of the task: a task that reports in a tight loop costs the database one write a
second, not one per call. With ``RESULT_STORE = "database"`` any process reads it
(``progress_of``), so a page served by another gunicorn worker shows it.

Called where no ``DualqueueBackend`` task runs (a test calling the function directly, Django's
``ImmediateBackend``), it records nothing and returns False; bad values raise ``ValueError`` or
``TypeError`` there too, so a mistake shows in the first test that calls it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["progress_of", "report_progress"]


def report_progress(current: float, total: float | None = None, message: str = "") -> bool:
    """Record the running task's progress; True if a task of a pool is running on this thread."""
    from dualqueue import report_progress as core_report_progress

    from .backend import current_run

    recorded = core_report_progress(current, total, message)  # validates, and cuts the message
    run = current_run()
    if run is None:
        return recorded
    run.report(float(current), None if total is None else float(total), _cut(message))
    return True


def _cut(message: str) -> str:
    from dualqueue.stats import MESSAGE_LIMIT

    return message[:MESSAGE_LIMIT]


def progress_of(result_id: str, backend: str = "default") -> dict[str, Any] | None:
    """The last progress written for a result (``current``, ``total``, ``fraction``, ``message``, ``at``), or None."""
    from . import registry

    return registry.result_store(backend).progress(result_id)
