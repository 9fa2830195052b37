"""Broken debouncers: one that never restarts its window, one that loses items during a run."""

from __future__ import annotations

from typing import Any

from dualqueue import Debouncer


class FixedWindowDebouncer(Debouncer):
    """The bug: the window is fixed at the first trigger and never restarts.

    That is a throttle, not a debounce: a burst longer than ``wait`` is cut
    into several runs, and the last upload of a burst may be indexed in a run
    of its own a moment after the previous one.
    """

    def _next_due(self, now: float) -> float:
        if self._due_at is not None:
            return self._due_at
        return super()._next_due(now)


class ForgetfulDebouncer(Debouncer):
    """The bug: "busy" means "ignore". Triggers that arrive during a run are dropped.

    The classic guard flag: ``if self.running: return``. The run in flight
    started before those items existed, so they are never delivered, and
    nothing counts them.
    """

    def trigger(self, item: Any = None) -> None:
        if self.running:
            return
        super().trigger(item)
