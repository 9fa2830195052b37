"""Broken debouncers: one that never restarts its window, one that loses items during a run."""

from __future__ import annotations

from typing import Any

from dualqueue import Debouncer
from dualqueue.debounce import State


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


class EagerFollowUpDebouncer(Debouncer):
    """The bug: once a batch falls due during a run, later triggers stop restarting its window.

    The follow-up starts the moment the run in flight ends, so an upload that
    arrived a second earlier is indexed after no quiet at all, and a burst
    that straddles the end of a run is split. (The reference withdrew the
    follow-up when a trigger moved the due time ahead; only ``flush`` is "now".)
    """

    def trigger(self, item: Any = None) -> None:
        with self._lock:
            due_during_run = self._state is State.RUNNING_DUE
        super().trigger(item)
        with self._lock:
            if due_during_run and self._state is State.RUNNING_WAITING:
                self._state = State.RUNNING_DUE
