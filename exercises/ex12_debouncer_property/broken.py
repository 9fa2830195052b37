"""Three broken debouncers, each a classic bug, each a one-method subclass of the reference ``Debouncer``.

They exist to be caught: exercise 12's checks run the learner's property tests
against each of them and require a failure every time (and against the
reference ``dualqueue.Debouncer``, where they must pass). All three still run,
deliver and look reasonable in a quick manual try.
"""

from __future__ import annotations

from typing import Any

from dualqueue import Debouncer

from chapters.broken import FixedWindowDebouncer

__all__ = [
    "BROKEN",
    "CappedBatchDebouncer",
    "CappedWindowDebouncer",
    "FixedWindowDebouncer",
    "LatestOnlyDebouncer",
    "StickyBatchDebouncer",
]


class LatestOnlyDebouncer(Debouncer):
    """The bug: "debounce keeps the last call". Each trigger replaces the batch instead of adding to it.

    That is what many debounce helpers do, and fine for "save the latest draft";
    for "index these uploads" it loses every upload but the last of each burst.
    """

    def trigger(self, item: Any = None) -> None:
        super().trigger(item)
        with self._lock:
            del self._batch[:-1]


class StickyBatchDebouncer(Debouncer):
    """The bug: a delivered batch is copied instead of handed over, and the copy is never cleared.

    Every run delivers the new items and, again, every item of every run before.
    """

    def _take(self) -> list[Any]:
        batch = super()._take()
        self._batch = list(batch)
        return batch


class CappedBatchDebouncer(Debouncer):
    """The bug: a batch holds at most 6 items; later items of a long burst are dropped.

    A buffer bounded "to be safe", without counting what it drops. Every
    burst of up to 6 triggers is delivered perfectly: only a property that
    tries long bursts can see it.
    """

    def trigger(self, item: Any = None) -> None:
        super().trigger(item)
        with self._lock:
            del self._batch[6:]


class CappedWindowDebouncer(Debouncer):
    """The bug: the quiet window is never longer than 4 seconds, whatever ``wait`` says.

    A hard-coded limit meant to bound staleness. With ``wait`` of 4 or less it is
    the real debouncer: only a property that tries longer windows can see it.
    """

    def _next_due(self, now: float) -> float:
        return min(super()._next_due(now), now + 4)


# What the checks run the learner's tests against, with what each one gets wrong.
BROKEN: dict[str, tuple[type[Debouncer], str]] = {
    "fixed_window": (FixedWindowDebouncer, "never restarts its window: a long burst is cut into several runs"),
    "latest_only": (LatestOnlyDebouncer, "keeps only the newest item of each burst"),
    "sticky_batch": (StickyBatchDebouncer, "delivers every earlier item again in each later run"),
    "capped_batch": (CappedBatchDebouncer, "drops every item after the 6th of a burst (try long bursts)"),
    "capped_window": (CappedWindowDebouncer, "never waits more than 4 s, whatever wait says (try longer waits)"),
}
