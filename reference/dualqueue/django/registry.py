"""The process's one ``TaskSystem`` and each backend alias's recent ``TaskResult``s.

Django builds task backends per thread (and per async context), so a backend object is the
wrong home for anything that must be shared: its pools would be built again in every request
thread. Everything shared lives here, at module level, once per process. It guarantees:

* **Lazy and single.** The ``TaskSystem`` is built on first use from ``DUALQUEUE`` under a lock,
  so concurrent first requests build exactly one; building it starts no thread (the core
  starts a pool's workers on its first submit). Every backend alias shares it.
* **Fork-safe.** ``os.fork()`` gives the child a new lock and empty result stores (the
  parent's results belong to tasks the parent runs). The core already gives the child's
  ``TaskSystem`` fresh, empty pools and debouncers, so the child keeps the same object:
  debouncers created before a ``--preload`` fork are still the ones in the child's status.
* **Bounded results.** Each alias keeps its latest ``RESULTS_KEPT`` results; the oldest is
  evicted first, and every eviction is counted and shown in the status.
* **Started once per system.** When a process builds its ``TaskSystem`` (its first use, or
  gunicorn's ``post_worker_init``), it schedules again every deferred task waiting in the database
  (``RESULT_STORE = "database"``: rows ``READY`` with a ``run_after``; claims at their time make
  each run once whatever number of processes scheduled it) and arms ``DUALQUEUE["PERIODIC"]``
  (each tick claimed through ``DatabaseClaims``, so it runs in one process).
* **Settings changes take effect.** When ``DUALQUEUE`` changes (``override_settings`` in a
  test), the old system is shut down at once (what was still queued is dropped, counted and
  logged by the core) and the next use builds a new one from the new settings.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.signals import setting_changed
from django.db import close_old_connections

from dualqueue import Clock, Debouncer, ShutdownReport, TaskSystem, WorkerPool

from . import conf, processes
from .compat import task_backends
from .results import DatabaseResultStore, MemoryResultStore

__all__ = [
    "ResultStore",
    "build_task_system",
    "debouncer",
    "get_task_system",
    "join",
    "override_task_system",
    "reset",
    "result_store",
    "shutdown",
    "snapshot",
]


logger = logging.getLogger("dualqueue")

ResultStore = MemoryResultStore  # the name this module has always exported


# The registry's state. _lock guards _system and _stores (the mapping, not the stores' contents:
# each store has its own lock). It is never held while a task runs or while a system drains.
_lock = threading.Lock()
_system: TaskSystem | None = None
_stores: dict[str, MemoryResultStore | DatabaseResultStore] = {}


def build_task_system(clock: Clock | None = None) -> TaskSystem:
    """A new ``TaskSystem`` configured by ``DUALQUEUE`` (not installed: see ``override_task_system``)."""
    settings = conf.get_settings()
    pools = {
        name: WorkerPool(name, workers, settings.maxsize.get(name, 0), clock=clock, exit_timeout=settings.exit_timeout)
        for name, workers in settings.pools.items()
    }
    return TaskSystem(clock=clock, exit_timeout=settings.exit_timeout, **pools)


def get_task_system() -> TaskSystem:
    """The process's ``TaskSystem``, built from ``DUALQUEUE`` on first use (then started: see ``start``)."""
    global _system
    processes.ensure_publishing()  # one int comparison once this process's publisher runs
    with _lock:
        built = _system is None
        if built:
            _system = build_task_system()
        system = _system
    if built:
        start(system)
    return system


def start(system: TaskSystem) -> None:
    """Schedule the deferred tasks waiting in the database again, and arm the periodic tasks, on ``system``.

    Runs once per system, outside the registry's lock (it reads the database and imports tasks).
    A failure here (no table yet: ``migrate`` has not run) is logged, never raised: a process that
    cannot read its deferred tasks still serves requests.
    """
    try:
        resume_deferred(system)
    except Exception:
        logger.exception("dualqueue: could not schedule the deferred tasks waiting in the database")
    try:
        arm_periodic(system)
    except Exception:
        logger.exception('dualqueue: could not arm DUALQUEUE["PERIODIC"]')


def resume_deferred(system: TaskSystem) -> int:
    """Schedule every deferred task of every dualqueue backend alias again; how many were scheduled."""
    from .backend import DualqueueBackend, _delay_until, _TaskRun

    if conf.get_settings().result_store != "database":
        return 0
    scheduled = 0
    for alias in _dualqueue_aliases():
        backend = task_backends[alias]
        store = result_store(alias)
        for result in store.deferred():
            pool = backend.queue_pools.get(result.task.queue_name)
            if pool is None:
                logger.error("dualqueue: deferred task %s (%s) is on queue %r, which backend %r no longer has",
                             result.task.module_path, result.id, result.task.queue_name, alias)  # fmt: skip
                continue
            assert result.task.run_after is not None
            system.submit_after(pool, _delay_until(result.task.run_after), _TaskRun(DualqueueBackend, result, store))
            scheduled += 1
    if scheduled:
        logger.info("dualqueue: process %s scheduled %d deferred task(s) from the database", os.getpid(), scheduled)
    return scheduled


def _dualqueue_aliases() -> list[str]:
    from .backend import DualqueueBackend

    aliases = []
    for alias in task_backends:  # type: ignore[attr-defined,unused-ignore]
        try:
            if isinstance(task_backends[alias], DualqueueBackend):
                aliases.append(alias)
        except Exception:  # a misconfigured backend is the checks' business
            continue
    return sorted(aliases)


def arm_periodic(system: TaskSystem) -> list[str]:
    """Declare every ``DUALQUEUE["PERIODIC"]`` entry on ``system``; each tick enqueues its Django task."""
    entries = conf.get_settings().periodic
    if not entries:
        return []
    from dualqueue import Cron, Every

    from .claims import DatabaseClaims

    claims = DatabaseClaims()
    armed = []
    for name, entry in entries.items():
        task = periodic_task(entry)
        schedule = Every(entry.every) if entry.every is not None else Cron(entry.cron)
        system.every(name, schedule, _enqueue_tick, name, queue=PERIODIC_POOL, claims=claims)
        armed.append(name)
        logger.debug("dualqueue: periodic %r armed (%s, task %s)", name, entry.schedule_text, task.module_path)
    return armed


PERIODIC_POOL = "general"  # where a tick's enqueue runs (the task itself runs on its own queue's pool)


def periodic_task(entry: conf.PeriodicEntry) -> Any:
    """The Django task a ``PERIODIC`` entry names; ``ImproperlyConfigured`` naming the key if it is not one."""
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.module_loading import import_string

    from .compat import is_task

    where = f'DUALQUEUE["PERIODIC"][{entry.name!r}]["task"]'
    try:
        task = import_string(entry.task)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{where}: cannot import {entry.task!r}: {exc}") from None
    if not is_task(task):
        raise ImproperlyConfigured(f"{where}: {entry.task!r} is not a task (decorate the function with @task())")
    return task


def _enqueue_tick(name: str) -> None:
    """One tick of ``PERIODIC[name]``, in the process that claimed it: enqueue its task (it gets a result row)."""
    entry = conf.get_settings().periodic.get(name)
    if entry is not None:  # None: the settings changed since the tick was armed
        periodic_task(entry).enqueue(*entry.args, **entry.kwargs)


def result_store(alias: str) -> MemoryResultStore | DatabaseResultStore:
    """The result store of backend ``alias``, created on first use (``RESULT_STORE``, ``RESULTS_KEPT``)."""
    settings = conf.get_settings()
    with _lock:
        store = _stores.get(alias)
        if store is None:
            kind = DatabaseResultStore if settings.result_store == "database" else MemoryResultStore
            store = _stores[alias] = kind(settings.results_kept, alias)
        return store


def debouncer(
    name: str,
    fn: Callable[[list[Any]], object],
    *,
    wait: float = 15.0,
    max_wait: float | None = None,
    pool: str | None = "general",
) -> Debouncer:
    """The debouncer called ``name`` on the current ``TaskSystem``, created on first use.

    Call it where you trigger, ``debouncer("search-index", rebuild_index).trigger(pk)``, rather
    than once at import: after a settings change, or inside ``override_task_system``, the current
    system is another one. Each run of ``fn`` closes stale database connections before and after,
    as a task does. Asking again for ``name`` with another ``fn``, ``wait``, ``max_wait`` or
    ``pool`` raises ``ValueError``: one name, one debouncer.
    """
    system = get_task_system()
    with _lock:  # two threads asking first must not both create it
        existing = system.debouncers.get(name)
        if existing is None:
            return system.debouncer(name, _closing_connections(fn), wait=wait, max_wait=max_wait, pool=pool)
    same = (
        getattr(existing.fn, "__wrapped__", None) == fn
        and existing.wait == wait
        and existing.max_wait == max_wait
        and (existing.pool.name if existing.pool is not None else None) == pool
    )
    if not same:
        raise ValueError(f"a debouncer named {name!r} already exists with another function or settings")
    return existing


def _closing_connections(fn: Callable[[list[Any]], object]) -> Callable[[list[Any]], object]:
    @functools.wraps(fn)  # keeps fn's name: the pool names dropped runs and dead letters by it
    def run(batch: list[Any]) -> object:
        close_old_connections()
        try:
            return fn(batch)
        finally:
            close_old_connections()

    return run


def join(timeout: float | None = None) -> bool:
    """Wait until every pool is idle (tests, management commands); True if so before ``timeout``."""
    with _lock:
        system = _system
    return True if system is None else system.join(timeout)


def shutdown(timeout: float | None) -> ShutdownReport | None:
    """Flush debouncers, stop intake, drain for up to ``timeout`` s, report; None if no system was built.

    This is what gunicorn's ``worker_exit`` hook runs. The system stays installed (closed), so
    the status still shows what happened; a submit after this raises ``PoolClosedError``.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    with _lock:
        system, stores = _system, list(_stores.values())
    report = None if system is None else system.shutdown(timeout)
    # The database store's last rows (what finished during the drain), within what is left of the
    # same timeout: a row not written in time stays READY/RUNNING and is reported lost later.
    for store in stores:
        left = RESULTS_FLUSH_SECONDS if deadline is None else max(0.0, deadline - time.monotonic())
        store.flush(min(RESULTS_FLUSH_SECONDS, left))
    return report


RESULTS_FLUSH_SECONDS = 5.0  # the most a shutdown waits for the result writer


def reset(timeout: float | None = 0.0) -> ShutdownReport | None:
    """Forget the system and every result store; shut the old system down (drain for ``timeout`` s).

    The default ``timeout=0`` drops whatever is still queued at once (counted and logged by the
    core) and leaves running tasks to finish on their daemon threads.
    """
    global _system, _stores
    with _lock:
        system, _system = _system, None
        _stores = {}
    return None if system is None else system.shutdown(timeout)


@contextmanager
def override_task_system(system: TaskSystem | None = None, *, clock: Clock | None = None) -> Iterator[TaskSystem]:
    """Run the adapter on another ``TaskSystem`` inside the block: for tests that drive a ``FakeClock``.

    With no ``system``, builds one from ``DUALQUEUE`` with ``clock``. On exit the block's system
    is shut down without waiting (the test should have joined it) and the previous one is back.
    """
    global _system
    installed = system if system is not None else build_task_system(clock)
    with _lock:
        previous, _system = _system, installed
    try:
        yield installed
    finally:
        with _lock:
            _system = previous
        installed.shutdown(timeout=0)


RESULTS_SCOPE = {
    "memory": "this process's memory: another process cannot see them, and they vanish when it exits",
    "database": "the database: every process reads them, and they survive a restart",
}
ERROR_RATE_WINDOW = "failed / (succeeded + failed), counted since this process's pools started"


def snapshot() -> dict[str, Any]:
    """The status picture: the ``TaskSystem`` snapshot, each pool's error rate, each alias's results.

    Each pool is read under its own lock in one go, so its counters add up; each store under
    its own lock. Pools are not read at one common instant: a global lock would couple the
    pools that exist to be independent.
    """
    system = get_task_system()
    with _lock:
        stores = dict(_stores)
    picture = system.snapshot()
    picture["error_rates"] = {
        "window": ERROR_RATE_WINDOW,
        "pools": {name: pool["error_rate"] for name, pool in picture["pools"].items()},
    }
    picture["results"] = {
        "store": conf.get_settings().result_store,
        "where": RESULTS_SCOPE[conf.get_settings().result_store],
        "backends": {alias: store.snapshot() for alias, store in sorted(stores.items())},
    }
    return picture


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "DUALQUEUE":
        conf.clear_cache()
        reset()


setting_changed.connect(_settings_changed, dispatch_uid="dualqueue.django.registry")


def _reset_in_child() -> None:
    # Another thread may have held _lock at the fork: it would stay held forever in the child.
    # The parent's results are for tasks that run in the parent; the child starts without them.
    global _lock, _stores
    _lock = threading.Lock()
    _stores = {}


os.register_at_fork(after_in_child=_reset_in_child)
