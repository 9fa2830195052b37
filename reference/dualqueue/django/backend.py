"""``DualqueueBackend``: Django Tasks run on this process's dualqueue pools.

::

    TASKS = {"default": {
        "BACKEND": "dualqueue.django.backend.DualqueueBackend",
        "QUEUES": ["default", "site"],
        "OPTIONS": {"QUEUE_POOLS": {"default": "general", "site": "site"}},
    }}

``@task()`` runs on the ``general`` pool, ``@task(queue_name="site")`` on the ``site`` pool.
Each queue maps to one pool (``QUEUE_POOLS``; a queue named like a pool maps to it without
being listed, and ``default`` maps to ``general``); the mapping is checked when the backend is
built, so a queue without a pool fails at startup, not in a worker.

What it guarantees, as Django's ``ImmediateBackend`` does, but on worker threads:

* ``enqueue`` validates the task, normalises its arguments to JSON (a task must be able to move
  to a durable backend unchanged: arguments that JSON cannot carry fail here, at the caller),
  queues it, and returns a ``READY`` result. A full or shut-down pool raises ``QueueFullError``
  or ``PoolClosedError`` at the caller, and then nothing was queued or signalled.
* The worker moves the result to ``RUNNING`` (``started_at``, ``last_attempted_at``,
  ``worker_ids``), calls the function (with a ``TaskContext`` when ``takes_context``), and
  finishes it ``SUCCESSFUL`` with the JSON-normalised return value, or ``FAILED`` with a
  ``TaskError`` (exception class path and traceback). ``task_enqueued``, ``task_started`` and
  ``task_finished`` are each sent once, in that order, with the result.
* A failed task is also a failure of its pool: after recording it, the worker re-raises, so
  the pool counts it in ``failed``, shows it as ``last_error`` and keeps a dead letter, and
  ``/status`` error counts are task failures. (Both loggers report it: ``django_tasks`` with
  the result id, ``dualqueue`` with the pool.)
* Stale database connections are closed before and after every task, in ``finally``, as
  Django's request cycle does around a request.

Capability flags, honestly: ``run_after`` yes (``supports_defer``): the task waits on its pool's
clock (``submit_after``), holding no worker and no queue slot, and runs as soon as a worker is free
after that instant. Where it waits depends on the result store. With ``"database"`` its row is
written ``READY`` with its ``run_after`` at enqueue (in the caller's thread: a deferred task must
outlive the process that took it), every process re-schedules every such row when it starts, and
at its time the row is *claimed* (one conditional ``UPDATE`` ``READY`` -> ``RUNNING``), so exactly
one process runs it, however many scheduled it. One that fell due while no process was running
runs once, as soon as the first process starts; its result's ``started_at`` minus its
``task.run_after`` says how late, and a warning is logged. With ``"memory"`` it lives in this
process only: lost at a restart, and named as dropped by the shutdown report if not yet due.
No priority (a pool is
first in, first out: isolation comes from separate pools, not from reordering a queue), async
functions yes (run to completion on the worker through ``async_to_sync``, so any ORM call they
make through ``sync_to_async`` runs on the worker thread itself). ``get_result`` depends on the
result store (``DUALQUEUE["RESULT_STORE"]``, see ``dualqueue.django.results``): with
``"database"`` any process reads any result, across restarts, so ``supports_get_result`` is
True; with ``"memory"`` results live in this process only and vanish with it, so it is False
(``get_result`` still answers for this process's own results).

A failed enqueue runs nothing, as with ``ImmediateBackend``: ``task_enqueued`` is sent *before*
the task is handed to its pool, so a receiver that raises stops the enqueue there, and the
caller who retries cannot run the task twice. If the pool then refuses the task (shut down, or a
full bounded queue), the result is recorded ``FAILED`` with that error, ``task_finished`` is sent
(every ``task_enqueued`` has its ``task_finished``), and the error reaches the caller.
"""

from __future__ import annotations

import contextvars
import datetime
import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.utils import timezone

from ..errors import PoolClosedError
from ..retry import task_name
from . import conf, registry
from .compat import (
    BaseTaskBackend,
    Task,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultStatus,
    exception_traceback,
    module_path,
    normalize_json,
    random_id,
    task_enqueued,
    task_finished,
    task_started,
)

__all__ = ["DualqueueBackend"]

T = TypeVar("T")

DEFAULT_QUEUE_POOLS = {"default": "general"}


class _SupportsGetResult:
    """``supports_get_result`` read from the settings, on the class as on an instance.

    Both frameworks define the flag as "results can be read from any thread or process": True
    only while ``DUALQUEUE["RESULT_STORE"]`` is ``"database"``. A descriptor rather than a
    property, so that code reading the flag on the class (as capability checks often do) gets
    the same bool, never a truthy property object; and read on every access, so that a
    settings change (``override_settings``) is seen by backend objects built before it.
    """

    def __get__(self, instance: object, owner: type | None = None) -> bool:
        from django.conf import settings

        if not settings.configured:
            return False
        return conf.get_settings().result_store == "database"


class DualqueueBackend(BaseTaskBackend):
    """Run each queue's tasks on its dualqueue pool, in this process."""

    # --8<-- [start:flags]
    supports_defer = True  # run_after: waits on the pool's clock (and in its row)
    supports_async_task = True  # coroutines run to the end on the worker (async_to_sync)
    supports_get_result = _SupportsGetResult()  # True with RESULT_STORE "database" only
    supports_priority = False  # a pool is FIFO; isolation comes from separate pools
    # --8<-- [end:flags]

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self._mapped: tuple[conf.DualqueueSettings, dict[str, str]] | None = None
        self.queue_pools  # noqa: B018  (validate now: a queue without a pool fails at startup)

    @property
    def queue_pools(self) -> dict[str, str]:
        """Queue name -> pool name, validated against ``DUALQUEUE["POOLS"]`` (again if that changes)."""
        settings = conf.get_settings()
        if self._mapped is None or self._mapped[0] is not settings:
            self._mapped = (settings, self._map_queues(settings.pools))
        return self._mapped[1]

    def _map_queues(self, pools: Mapping[str, int]) -> dict[str, str]:
        where = f"TASKS[{self.alias!r}]"
        if not self.queues:
            raise ImproperlyConfigured(
                f'{where}["QUEUES"] is empty, which lets any queue name through; DualqueueBackend '
                f'runs each queue on a pool, so list the queues, e.g. ["default", "site"]'
            )
        options = self.options if isinstance(self.options, Mapping) else {}
        explicit = options.get("QUEUE_POOLS", {})
        if not isinstance(explicit, Mapping):
            raise ImproperlyConfigured(
                f'{where}["OPTIONS"]["QUEUE_POOLS"] must be a dict of queue name -> pool name; got {explicit!r}'
            )
        unknown_options = sorted(set(options) - {"QUEUE_POOLS"})
        if unknown_options:
            raise ImproperlyConfigured(
                f'{where}["OPTIONS"] has unknown key(s) {unknown_options}; DualqueueBackend takes QUEUE_POOLS only'
            )
        mapping: dict[str, str] = {}
        for queue in sorted(self.queues):
            pool = explicit.get(queue) or DEFAULT_QUEUE_POOLS.get(queue) or (queue if queue in pools else None)
            if pool is None:
                raise ImproperlyConfigured(
                    f'{where}: queue {queue!r} has no pool; map it in OPTIONS["QUEUE_POOLS"] to one of '
                    f'the pools in DUALQUEUE["POOLS"]: {sorted(pools)}'
                )
            if pool not in pools:
                raise ImproperlyConfigured(
                    f'{where}: queue {queue!r} maps to pool {pool!r}, which is not in DUALQUEUE["POOLS"] '
                    f"{sorted(pools)}"
                )
            mapping[queue] = pool
        stray = sorted(set(explicit) - set(self.queues))
        if stray:
            raise ImproperlyConfigured(
                f'{where}["OPTIONS"]["QUEUE_POOLS"] maps queue(s) {stray} that are not in QUEUES {sorted(self.queues)}'
            )
        return mapping

    # -- enqueue (the caller's thread) ----------------------------------------

    def enqueue(self, task: Task[Any, T], args: Any, kwargs: Any) -> TaskResult[T]:
        """Validate, normalise, queue on the task's pool; return the ``READY`` result.

        The result returned is the one the worker updates in place: read ``status`` first
        (it is written last in every transition), or wait with ``registry.join``.
        """
        self.validate_task(task)
        pool = self.queue_pools[task.queue_name]
        try:
            result: TaskResult[T] = TaskResult(
                task=task,
                id=random_id(),
                status=TaskResultStatus.READY,
                enqueued_at=None,
                started_at=None,
                last_attempted_at=None,
                finished_at=None,
                args=args,
                kwargs=kwargs,
                backend=self.alias,
                errors=[],
                worker_ids=[],
            )
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{task.module_path}: the arguments of a task must be JSON-serialisable (so the task can "
                f"move to a durable backend unchanged): {exc}"
            ) from exc
        object.__setattr__(result, "enqueued_at", timezone.now())
        system = registry.get_task_system()
        if system[pool].closed:  # refuse before anyone hears of the task
            raise PoolClosedError(f"pool {pool!r} is shut down; task {task.module_path} was not enqueued")
        # The signal first: a receiver that raises ends the enqueue before the pool has the task.
        task_enqueued.send(type(self), task_result=result)
        store = registry.result_store(self.alias)
        store.add(result)
        try:
            run = _TaskRun(type(self), result, store)
            if task.run_after is None:
                system.submit(pool, run)
            else:
                system.submit_after(pool, _delay_until(task.run_after), run)
        except BaseException as exc:  # refused (QueueFullError, PoolClosedError): recorded, then raised
            _record_failure(result, exc)
            store.save(result)
            task_finished.send(type(self), task_result=result)
            raise
        return result

    def get_result(self, result_id: str) -> TaskResult[Any]:
        """The result with this id, from the configured result store.

        ``TaskResultDoesNotExist`` if unknown or evicted (``RESULTS_KEPT``), or, with the memory
        store, enqueued by another process. With the database store, a result whose process died
        before it finished is ``FAILED`` with a ``dualqueue.django.results.TaskLost`` error.
        """
        return registry.result_store(self.alias).get(result_id)

    async def aget_result(self, result_id: str) -> TaskResult[Any]:
        if not registry.result_store(self.alias).shared:
            return self.get_result(result_id)  # a dict lookup under a lock: no thread hop needed
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.get_result, thread_sensitive=True)(result_id)

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        yield from super().check(**kwargs)
        if conf.get_settings().results_kept is None:
            yield checks.Warning(
                f'DUALQUEUE["RESULTS_KEPT"] is None: backend {self.alias!r} keeps every TaskResult in memory '
                f"for the life of the process",
                hint="Set RESULTS_KEPT to a number (the default is 1000); the oldest results are evicted first.",
                id="dualqueue.W004",
            )


class _TaskRun:
    """One enqueued task as its pool sees it: a callable named after the task's function.

    The pool names dropped tasks, still-running tasks and dead letters by ``task_name``
    (``dualqueue.retry.task_name``): this object names itself after the task's function, so a
    shutdown report says ``esg.sites.tasks.analyse_site``, never an adapter internal.
    """

    def __init__(self, backend_class: type[DualqueueBackend], result: TaskResult[Any], store: Any) -> None:
        self.backend_class = backend_class
        self.result = result
        self.store = store
        self.task_name = task_name(result.task.func)
        # Progress reported by the task (report_progress), and when it was last written to the store.
        self.progress: tuple[float, float | None, str] | None = None
        self.progress_written_at: float | None = None
        self.progress_unwritten = False

    def __call__(self) -> None:
        close_old_connections()
        try:
            if self.result.task.run_after is not None and not self.store.claim(self.result):
                return  # another process ran it (or its row is gone): nothing to do here
            token = _running.set(self)
            try:
                self._execute()
            finally:
                _running.reset(token)
        finally:
            close_old_connections()

    def report(self, current: float, total: float | None, message: str) -> None:
        """Keep the task's progress; write it to the store at most every ``PROGRESS_INTERVAL`` s."""
        self.progress = (current, total, message)
        now = time.monotonic()
        interval = conf.get_settings().progress_interval
        if self.progress_written_at is not None and now - self.progress_written_at < interval:
            self.progress_unwritten = True
            return
        self.progress_written_at = now
        self.progress_unwritten = False
        self.store.set_progress(self.result, current, total, message)
        self.store.save(self.result)

    def _flush_progress(self) -> None:
        if self.progress_unwritten and self.progress is not None:
            self.progress_unwritten = False
            self.store.set_progress(self.result, *self.progress)

    def _execute(self) -> None:
        # The order of ImmediateBackend._execute_task, with two differences: the function runs
        # on this worker thread, and an exception is re-raised after it is recorded, so that the
        # pool counts the failure. task_started is inside the try: a receiver that raises fails
        # the task instead of leaving its result RUNNING forever.
        result, sender = self.result, self.backend_class
        task = result.task
        try:
            started = timezone.now()
            object.__setattr__(result, "started_at", started)
            object.__setattr__(result, "last_attempted_at", started)
            result.worker_ids.append(f"{os.getpid()}:{threading.current_thread().name}")
            object.__setattr__(result, "status", TaskResultStatus.RUNNING)
            self.store.save(result)
            task_started.send(sender=sender, task_result=result)
            if task.takes_context:
                raw = task.call(TaskContext(task_result=result), *result.args, **result.kwargs)
            else:
                raw = task.call(*result.args, **result.kwargs)
            object.__setattr__(result, "_return_value", normalize_json(raw))
        except BaseException as exc:
            _record_failure(result, exc)
            self._flush_progress()
            self.store.save(result)
            task_finished.send(sender, task_result=result)
            raise
        self._flush_progress()  # the last report is always written, with the end of the task
        object.__setattr__(result, "finished_at", timezone.now())
        object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
        self.store.save(result)
        task_finished.send(sender, task_result=result)


# The _TaskRun running on this thread (report_progress finds it here); unset outside a task.
_running: contextvars.ContextVar[_TaskRun | None] = contextvars.ContextVar("dualqueue_task_run", default=None)


def current_run() -> _TaskRun | None:
    """The task this thread is running for ``DualqueueBackend``, or None."""
    return _running.get()


def _delay_until(run_after: datetime.datetime) -> float:
    """Seconds from now until ``run_after`` on the wall clock; 0 for an instant already past."""
    return max(0.0, (run_after - timezone.now()).total_seconds())


def _record_failure(result: TaskResult[Any], exc: BaseException) -> None:
    object.__setattr__(result, "finished_at", timezone.now())
    result.errors.append(TaskError(exception_class_path=module_path(type(exc)), traceback=exception_traceback(exc)))
    object.__setattr__(result, "status", TaskResultStatus.FAILED)
