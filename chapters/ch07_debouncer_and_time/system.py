"""The two-queue task system: named pools, named debouncers, one status picture.

``TaskSystem()`` is the seed system: a ``general`` pool of 2 workers for light
work (emails, notifications) and a ``site`` pool of 10 for heavy work (Earth
Engine analyses). Isolation comes from the pools being separate, not from any
priority: a task submitted to ``general`` waits only behind other general
tasks, however many site tasks are running or queued.

Like its pools, a ``TaskSystem`` starts no thread when created. An unknown
pool name fails at the caller with a ``KeyError`` that lists the known pools.
``snapshot()`` is what the status endpoint serves: each pool's counters, read
under that pool's lock, each debouncer's state, and the process id (every
process has its own queues). One clock, given or the process's default, drives
every pool and debouncer of the system.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from .clock import Clock, bounded_wait, check_timeout
from .debounce import Debouncer
from .pool import WorkerPool, default_clock
from .stats import iso

__all__ = ["TaskSystem"]

SEED_POOLS = {"general": 2, "site": 10}


class TaskSystem:
    """Named worker pools behind one ``submit``.

    ``TaskSystem(general=2, site=10)`` names each pool and its worker count;
    ``TaskSystem()`` means exactly that. A value may also be a ``WorkerPool``
    built by hand (for a bounded queue, say): its name must match its key.
    ``clock`` is passed to the pools built here.
    """

    def __init__(
        self, *, clock: Clock | None = None, **pools: int | WorkerPool
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
                self._pools[name] = WorkerPool(name, workers=spec, clock=self.clock)
        self._debouncers: dict[str, Debouncer] = {}
        self._started_at = self.clock.wall()

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
        pool.submit(fn, *args, **kwargs)

    # --8<-- [start:debouncer]
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
        if name in self._debouncers:
            raise ValueError(f"a debouncer named {name!r} already exists")
        target = None if pool is None else self[pool]
        debouncer = Debouncer(
            fn, wait=wait, max_wait=max_wait, pool=target, clock=self.clock, name=name
        )
        self._debouncers[name] = debouncer
        return debouncer

    # --8<-- [end:debouncer]

    @property
    def debouncers(self) -> dict[str, Debouncer]:
        """The debouncers by name (a copy)."""
        return dict(self._debouncers)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every pool is idle; True if so, False if ``timeout`` passed first.

        ``timeout`` is None or a finite number of seconds >= 0 (``ValueError``
        otherwise). From a pool's own worker, ``RuntimeError``: it would wait
        for itself.
        """
        timeout = check_timeout("timeout", timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        for pool in self._pools.values():
            if deadline is None:
                remaining = None
            else:
                remaining = bounded_wait(max(0.0, deadline - time.monotonic()))
            if not pool.join(remaining):
                return False
        return True

    def snapshot(self) -> dict[str, Any]:
        """The status picture: pid, start time, every pool and debouncer. JSON-ready.

        Each pool's entry is read under that pool's lock in one go, so each
        satisfies ``submitted == queued + running + succeeded + failed + dropped``.
        """
        return {
            "pid": os.getpid(),
            "started_at": iso(self._started_at),
            "pools": {name: pool.snapshot() for name, pool in self._pools.items()},
            "debouncers": {name: d.snapshot() for name, d in self._debouncers.items()},
        }
