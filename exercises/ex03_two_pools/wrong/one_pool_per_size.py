"""Wrong: pools are looked up by their size, so two queues of the same size share one.

``TaskSystem(general=2, site=10)`` works, which is all the seed system has.
``TaskSystem(general=2, reports=2)`` gives both names one pool of 2 workers.

Kind: logic
Caught by: test_each_name_has_a_pool_of_its_own_with_its_own_workers
Message mentions: shared by every name
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
        by_size: dict[int, WorkerPool] = {}
        for name, workers in sizes.items():
            by_size.setdefault(workers, WorkerPool(name, workers=workers))
        self._pools = {name: by_size[workers] for name, workers in sizes.items()}

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
