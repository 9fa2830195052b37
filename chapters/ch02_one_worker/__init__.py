"""Chapter 2, one worker: one ``queue.Queue`` and one daemon thread, which must not die
of a task."""

from .naive import NaiveWorker
from .worker import Worker

FEATURES: frozenset[str] = frozenset({"worker", "survives_errors", "lazy_start"})

__all__ = ["FEATURES", "NaiveWorker", "Worker"]
