"""The two-queue task system: named pools behind one ``submit``, and one status picture.

``TaskSystem()`` is the seed system: a ``general`` pool of 2 workers for light
work (emails, notifications) and a ``site`` pool of 10 for heavy work (Earth
Engine analyses). Isolation comes from the pools being separate, not from any
priority: a task submitted to ``general`` waits only behind other general
tasks, however many site tasks are running or queued.

Like its pools, a ``TaskSystem`` starts no thread when created. An unknown
pool name fails at the caller with a ``KeyError`` that lists the known pools.
``snapshot()`` is what the status endpoint serves: each pool's counters, read
under that pool's lock, and the process id (every process has its own queues).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from .pool import WorkerPool
from .stats import iso

__all__ = ["TaskSystem"]

SEED_POOLS = {"general": 2, "site": 10}


class TaskSystem:
    """Named worker pools behind one ``submit``.

    ``TaskSystem(general=2, site=10)`` names each pool and its worker count;
    ``TaskSystem()`` means exactly that. A value may also be a ``WorkerPool``
    built by hand (for a bounded queue, say): its name must match its key.
    """

    def __init__(self, **pools: int | WorkerPool) -> None:
        self._pools: dict[str, WorkerPool] = {}
        for name, spec in (pools or SEED_POOLS).items():
            if isinstance(spec, WorkerPool):
                if spec.name != name:
                    raise ValueError(
                        f"pool {name!r} was given a WorkerPool named {spec.name!r}"
                    )
                self._pools[name] = spec
            else:
                self._pools[name] = WorkerPool(name, workers=spec)
        self._started_at = time.time()

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
                f"a pool name is a string, got {type(name).__name__}; the pools are "
                f"{known}"
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
        """Queue ``fn(*args, **kwargs)`` on the pool called ``queue``. See
        ``WorkerPool.submit``."""
        try:
            pool = self._pools[queue]  # the hot path: one dict lookup
        except (KeyError, TypeError):
            pool = self[queue]  # raises the KeyError that names the known pools
        pool.submit(fn, *args, **kwargs)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every pool is idle; True if so, False if ``timeout`` passed
        first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for pool in self._pools.values():
            remaining = (
                None if deadline is None else max(0.0, deadline - time.monotonic())
            )
            if not pool.join(remaining):
                return False
        return True

    # --8<-- [start:snapshot]
    def snapshot(self) -> dict[str, Any]:
        """The status picture: pid, start time and every pool. JSON-serializable.

        Each pool's entry is read under that pool's lock in one go, so each
        satisfies ``submitted == queued + running + succeeded + failed + dropped``.
        """
        return {
            "pid": os.getpid(),
            "started_at": iso(self._started_at),
            "pools": {name: pool.snapshot() for name, pool in self._pools.items()},
        }
        # --8<-- [end:snapshot]
