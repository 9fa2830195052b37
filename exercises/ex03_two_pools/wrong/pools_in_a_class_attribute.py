"""Wrong: the pools live in a dict that is a class attribute, shared by every TaskSystem.

One system per process looks like the only case, until the tests make one
each, or an app makes a second for a management command: the second system
gets the first one's pools, with the first one's sizes.

Kind: logic
Caught by: test_two_systems_share_no_pool
Message mentions: shared between instances
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dualqueue import WorkerPool

SEED_POOLS = {"general": 2, "site": 10}


class TaskSystem:
    """Named queues, each with its worker count: ``TaskSystem(general=2, site=10)``."""

    _pools: dict[str, WorkerPool] = {}  # noqa: RUF012  (the mistake this file keeps)

    def __init__(self, **pools: int) -> None:
        sizes = pools or SEED_POOLS
        self.names = tuple(sizes)
        for name, workers in sizes.items():
            if name not in self._pools:
                self._pools[name] = WorkerPool(name, workers=workers)

    def __getitem__(self, name: str) -> WorkerPool:
        """The pool called ``name``; ``KeyError`` naming the known pools otherwise."""
        if name not in self.names:
            raise KeyError(f"no pool named {name!r}; the pools are {sorted(self.names)}")
        return self._pools[name]

    def submit(self, queue: str, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` on the pool called ``queue``."""
        self[queue].submit(fn, *args, **kwargs)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every pool is idle; True if so, False if ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for name in self.names:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self[name].join(remaining):
                return False
        return True
