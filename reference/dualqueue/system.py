"""The two-queue task system: named pools, named debouncers, one status picture.

``TaskSystem()`` is the seed system: a ``general`` pool of 2 workers for light
work (emails, notifications) and a ``site`` pool of 10 for heavy work (Earth
Engine analyses). Isolation comes from the pools being separate, not from any
priority: a task submitted to ``general`` waits only behind other general
tasks, however many site tasks are running or queued.

Like its pools, a ``TaskSystem`` starts no thread when created, survives
``os.fork()`` (the child gets fresh, empty pools), and is drained at
interpreter exit: the exit hook first cancels every periodic timer and flushes
each system's debouncers into their pools, then drains every pool against one
shared deadline.

Time: ``submit_after(queue, delay, fn)`` defers a task (see
``WorkerPool.submit_after``); ``every(name, schedule, fn)`` declares a periodic
task (see ``periodic.py``), shown under ``snapshot()["periodic"]``.

Free-threading checklist (what still relies on the GIL): ``submit`` reads
``_pools`` without a lock, on purpose (the request's hot path). That dict is
filled in ``__init__`` and never changed, so concurrent reads are safe with or
without the GIL. ``_debouncers``, ``_periodics`` and the registry are guarded
by locks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from .clock import Clock, bounded_wait, check_timeout
from .debounce import Debouncer
from .errors import PoolClosedError
from .periodic import Claims, Cron, Every, Periodic, Schedule
from .periodic import cancel_all as cancel_periodics
from .pool import (
    ShutdownReport,
    WorkerPool,
    _log,
    default_clock,
    drain,
    drain_all,
    refuse_own_worker,
)
from .stats import iso

__all__ = ["TaskSystem"]

logger = logging.getLogger("dualqueue")

SEED_POOLS = {"general": 2, "site": 10}


class TaskSystem:
    """Named worker pools behind one ``submit``.

    ``TaskSystem(general=2, site=10)`` names each pool and its worker count;
    ``TaskSystem()`` means exactly that. A value may also be a ``WorkerPool``
    built by hand (for a bounded queue, say): its name must match its key.
    ``clock`` and ``exit_timeout`` are passed to the pools built here.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        exit_timeout: float = 30.0,
        **pools: int | WorkerPool,
    ) -> None:
        self.clock: Clock = clock if clock is not None else default_clock()
        self._pools: dict[str, WorkerPool] = {}
        for name, spec in (pools or SEED_POOLS).items():
            if isinstance(spec, WorkerPool):
                if spec.name != name:
                    raise ValueError(
                        f"pool {name!r} was given a WorkerPool named {spec.name!r}"
                    )
                self._pools[name] = spec
            else:
                self._pools[name] = WorkerPool(
                    name, workers=spec, clock=self.clock, exit_timeout=exit_timeout
                )
        # Guards _debouncers: a debouncer may be created on any thread while
        # the exit hook or a snapshot walks them (always as a copy).
        self._lock = threading.Lock()
        self._debouncers: dict[str, Debouncer] = {}
        self._periodics: dict[str, Periodic] = {}
        self._started_at = self.clock.wall()
        with _registry_lock:
            _live_systems.add(self)

    def __repr__(self) -> str:
        pools = ", ".join(
            f"{name}={pool.workers}" for name, pool in self._pools.items()
        )
        return f"<TaskSystem {pools}>"

    def __getitem__(self, name: str) -> WorkerPool:
        """The pool called ``name``; ``KeyError`` naming the known pools otherwise."""
        try:
            return self._pools[name]
        except KeyError:
            raise KeyError(
                f"no pool named {name!r}; the pools are {sorted(self._pools)}"
            ) from None
        except TypeError:
            known = sorted(self._pools)
            raise KeyError(
                f"a pool name is a string, got {type(name).__name__}; "
                f"the pools are {known}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._pools

    @property
    def pools(self) -> dict[str, WorkerPool]:
        """The pools by name (a copy: the set of pools is fixed at creation)."""
        return dict(self._pools)

    def submit(
        self, queue: str, fn: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> None:
        """Queue ``fn(*args, **kwargs)`` on the pool called ``queue``.

        See ``WorkerPool.submit``.
        """
        try:
            pool = self._pools[queue]  # the hot path: one dict lookup
        except (KeyError, TypeError):
            pool = self[queue]  # raises the KeyError that names the known pools
        pool._put(fn, args, kwargs)

    def submit_after(
        self,
        queue: str,
        delay: float,
        fn: Callable[..., object],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Run ``fn(*args, **kwargs)`` on the pool called ``queue`` after ``delay`` s.

        See ``WorkerPool.submit_after``: the task waits on the clock, counted
        as ``scheduled``; ``join`` waits for it; ``shutdown`` drops it unrun
        and names it if it is not due yet.
        """
        try:
            pool = self._pools[queue]
        except (KeyError, TypeError):
            pool = self[queue]
        pool._put_after(delay, fn, args, kwargs)

    def every(
        self,
        name: str,
        schedule: Every | Cron | Schedule,
        fn: Callable[..., object],
        /,
        *args: Any,
        queue: str = "general",
        claims: Claims | None = None,
        **kwargs: Any,
    ) -> Periodic:
        """Run ``fn(*args, **kwargs)`` on pool ``queue`` at each tick of ``schedule``.

        ``schedule`` is ``Every(seconds)`` or ``Cron("...")``: wall-clock
        ticks, the same in every process. At each tick this process asks
        ``claims`` whether it runs it (``LocalClaims()``, one process, by
        default; ``FileClaims(directory)`` for several processes on one
        host): exactly one process sharing the store runs each tick, and
        ticks nobody ran are counted as skipped. The timer starts now (its
        first tick is the schedule's next one) and is cancelled by
        ``shutdown``. Shown in ``snapshot()["periodic"][name]``. Raises
        ``ValueError`` for a name already used, ``KeyError`` for an unknown
        pool, ``TypeError`` for a non-callable ``fn`` or a bad schedule,
        ``PoolClosedError`` after shutdown.
        """
        pool = self[queue]
        periodic = Periodic(
            name,
            schedule,
            fn,
            args,
            kwargs,
            pool=pool,
            clock=self.clock,
            claims=claims,
        )
        with self._lock:
            if pool.closed:
                raise PoolClosedError(
                    f"{queue!r} pool is shut down; periodic task {name!r} not started"
                )
            if name in self._periodics:
                raise ValueError(f"a periodic task named {name!r} already exists")
            self._periodics[name] = periodic
        try:
            periodic.start()
        except BaseException:
            with self._lock:  # never started: the name is free to declare again
                if self._periodics.get(name) is periodic:
                    del self._periodics[name]
            periodic.cancel()
            raise
        return periodic

    @property
    def periodics(self) -> dict[str, Periodic]:
        """The periodic tasks by name (a copy)."""
        with self._lock:
            return dict(self._periodics)

    def debouncer(
        self,
        name: str,
        fn: Callable[[list[Any]], object],
        *,
        wait: float = 15.0,
        max_wait: float | None = None,
        pool: str | None = "general",
    ) -> Debouncer:
        """A ``Debouncer`` whose runs go to ``pool``, shown in the snapshot as ``name``.

        ``pool=None`` runs ``fn`` inline on the clock's thread: only for quick ``fn``.
        """
        target = None if pool is None else self[pool]
        debouncer = Debouncer(
            fn, wait=wait, max_wait=max_wait, pool=target, clock=self.clock, name=name
        )
        with self._lock:
            if name in self._debouncers:
                raise ValueError(f"a debouncer named {name!r} already exists")
            self._debouncers[name] = debouncer
        return debouncer

    @property
    def debouncers(self) -> dict[str, Debouncer]:
        """The debouncers by name (a copy)."""
        with self._lock:
            return dict(self._debouncers)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every pool is idle; True if so, False if ``timeout`` passed first.

        Raises ``RuntimeError`` when called from a worker of one of its pools.
        """
        timeout = check_timeout("timeout", timeout)
        refuse_own_worker(self._pools.values(), "join()")
        deadline = None if timeout is None else time.monotonic() + timeout
        for pool in self._pools.values():
            if deadline is None:
                remaining = None
            else:
                remaining = bounded_wait(max(0.0, deadline - time.monotonic()))
            if not pool.join(remaining):
                return False
        return True

    def shutdown(self, timeout: float | None = 30.0) -> ShutdownReport:
        """Flush and close the debouncers, stop intake everywhere, drain, and report.

        The whole shutdown takes at most ``timeout`` seconds plus a fraction of
        a second (and the time a debouncer without a pool takes to run its
        flushed batch inline, in this thread). A flushed batch runs within the
        drain or is named in the report as dropped. The report has one entry
        per pool under ``pools``. Raises ``RuntimeError`` when called from a
        worker of one of its pools, before anything was closed.
        """
        timeout = check_timeout("timeout", timeout)
        refuse_own_worker(self._pools.values(), "shutdown()")
        for periodic in self.periodics.values():
            periodic.cancel()  # no tick fires into a closed pool
        for debouncer in self.debouncers.values():
            debouncer.close()
        return drain(list(self._pools.values()), timeout)

    def snapshot(self) -> dict[str, Any]:
        """The status picture: pid, start time, pools, debouncers, periodic tasks.

        JSON-ready. Each pool's entry is read under that pool's lock in one
        go, so each satisfies ``submitted == scheduled + queued + running +
        succeeded + failed + dropped``.
        """
        return {
            "pid": os.getpid(),
            "started_at": iso(self._started_at),
            "pools": {name: pool.snapshot() for name, pool in self._pools.items()},
            "debouncers": {name: d.snapshot() for name, d in self.debouncers.items()},
            "periodic": {name: p.snapshot() for name, p in self.periodics.items()},
        }


# The registry is guarded by _registry_lock and always iterated as a copy.
_live_systems: weakref.WeakSet[TaskSystem] = weakref.WeakSet()
_registry_lock = threading.Lock()


def _restart_systems_in_child() -> None:
    # The pools reset themselves (pool.py); the picture's start time must say
    # when this process's counters began, not when the parent's did.
    global _registry_lock
    _registry_lock = threading.Lock()  # another thread may have held it at the fork
    for system in list(_live_systems):
        system._lock = threading.Lock()
        system._started_at = system.clock.wall()


os.register_at_fork(after_in_child=_restart_systems_in_child)


# --8<-- [start:exit-hook]
def _at_exit() -> None:
    # Daemon workers are still alive here, so draining works. Debouncers
    # first: their pending batches become queued tasks the drain can still
    # run. Nothing raised here may skip the drain.
    with _registry_lock:
        systems = list(_live_systems)
    with contextlib.suppress(BaseException):  # nothing may skip the drain
        cancel_periodics()
    for system in systems:
        for debouncer in system.debouncers.values():
            try:
                debouncer.close()
            except BaseException as exc:
                _log(
                    logging.ERROR,
                    "dualqueue: flushing debouncer %s at exit failed",
                    debouncer.name,
                    exc=exc,
                    aside=True,
                )
    report = drain_all()
    if report.queued or report.running:
        _log(
            logging.INFO,
            "dualqueue: exit drain finished %d task(s), dropped %d, left %d running, "
            "in %.2fs",
            report.finished,
            len(report.dropped),
            len(report.still_running),
            report.elapsed,
            aside=True,
        )


# threading's own exit hook, as concurrent.futures uses: it runs when the main
# thread ends, before non-daemon threads are joined and before any atexit
# hook. atexit runs its hooks last-registered first, so a library imported
# after dualqueue (a database driver, say) would be torn down before queued
# tasks that need it had run.
threading._register_atexit(_at_exit)  # type: ignore[attr-defined]
# --8<-- [end:exit-hook]
