"""Wrong: each pool is made on first use, by a check-then-act that no lock guards.

"Start nothing until it is needed" is good advice, and one thread at a time
it works. Two requests submitting to "site" at the same moment both find no
pool and both make one: one of them is lost to ``tasks["site"]`` (its tasks
run, but ``join()`` and the status page never see them), and the site pool
has twice its workers.

Kind: race
Caught by: test_two_requests_asking_for_a_pool_at_once_get_the_same_pool
Message mentions: check-then-act
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
        self._sizes = dict(sizes)
        self._pools: dict[str, WorkerPool] = {}

    def __getitem__(self, name: str) -> WorkerPool:
        """The pool called ``name``; ``KeyError`` naming the known pools otherwise."""
        if name not in self.names:
            raise KeyError(f"no pool named {name!r}; the pools are {sorted(self.names)}")
        if name not in self._pools:  # made on first use
            self._pools[name] = WorkerPool(name, workers=self._sizes[name])
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
