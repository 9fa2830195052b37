"""Named queues behind one ``submit``: light work on ``general``, heavy work on
``site``.

Exercise 3, solved. Each name has a ``WorkerPool`` of its own: its own queue and
its own threads. A general task waits only behind other general tasks, however
many site tasks are running or queued. Isolation comes from the separation,
not from any priority: priority reorders what waits, it never frees a busy worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dualqueue import WorkerPool

SEED_POOLS = {"general": 2, "site": 10}


class TaskSystem:
    """Named queues, each with its worker count: ``TaskSystem(general=2, site=10)``."""

    def __init__(self, **pools: int) -> None:
        sizes = pools or SEED_POOLS
        self.names = tuple(sizes)
        self._pools = {
            name: WorkerPool(name, workers=workers) for name, workers in sizes.items()
        }

    # --8<-- [start:route]
    def __getitem__(self, name: str) -> WorkerPool:
        """The pool called ``name``; ``KeyError`` naming the known pools otherwise."""
        if name not in self.names:
            raise KeyError(
                f"no pool named {name!r}; the pools are {sorted(self.names)}"
            )
        return self._pools[name]

    def submit(
        self, queue: str, fn: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> None:
        """Queue ``fn(*args, **kwargs)`` on the pool called ``queue``."""
        self[queue].submit(fn, *args, **kwargs)
    # --8<-- [end:route]

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every pool is idle; True if so, False if ``timeout`` passed
        first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for name in self.names:
            remaining = (
                None if deadline is None else max(0.0, deadline - time.monotonic())
            )
            if not self[name].join(remaining):
                return False
        return True
