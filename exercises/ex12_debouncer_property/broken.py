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

__all__ = ["BROKEN", "FixedWindowDebouncer", "LatestOnlyDebouncer", "StickyBatchDebouncer"]


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


# What the checks run the learner's tests against, with what each one gets wrong.
BROKEN: dict[str, tuple[type[Debouncer], str]] = {
    "fixed_window": (FixedWindowDebouncer, "never restarts its window: a long burst is cut into several runs"),
    "latest_only": (LatestOnlyDebouncer, "keeps only the newest item of each burst"),
    "sticky_batch": (StickyBatchDebouncer, "delivers every earlier item again in each later run"),
}
