"""Chapter 4, one shared pool: the seed's first design, head-of-line blocking, and why
priority is not isolation."""

from .pool import WorkerPool
from .priority import PriorityPool
from .shared import PrioritizedTasks, SharedTasks

FEATURES: frozenset[str] = frozenset(
    {"worker", "survives_errors", "lazy_start", "pool", "bad_input", "priority"}
)

__all__ = ["FEATURES", "PrioritizedTasks", "PriorityPool", "SharedTasks", "WorkerPool"]
