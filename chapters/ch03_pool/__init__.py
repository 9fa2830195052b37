"""Chapter 3, a pool: N workers sharing one queue, bad input refused at the caller, a
join that can time out."""

from .pool import WorkerPool

FEATURES: frozenset[str] = frozenset(
    {"worker", "survives_errors", "lazy_start", "pool", "bad_input"}
)

__all__ = ["FEATURES", "WorkerPool"]
